using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Worker;

/// <summary>
/// A transport that hands each message to the real one and, once that confirmed it, prints <c>sent &lt;id&gt;</c> and never
/// returns: the outbox row it came from stays unmarked, as if the process died between the send and the mark.
/// </summary>
internal sealed class HangAfterSendTransport(ITransport inner) : ITransport
{
    public string Name => inner.Name;

    public TransportCapabilities Capabilities => inner.Capabilities;

    public async ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        await inner.SendAsync(message, cancellationToken);
        Console.WriteLine($"sent {message.MessageId}");
        await Task.Delay(Timeout.Infinite, CancellationToken.None);
    }

    public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
        => inner.CreateReceiverAsync(options, cancellationToken);

    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => inner.GetDeadLetterQueue(destination, consumerGroup);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
