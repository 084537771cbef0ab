using System.Collections.Concurrent;

namespace Switchboard.Transport.Conformance;

/// <summary>Wraps a transport and writes every settlement to a log, so a test can see what the bus did and in which order.</summary>
public sealed class SpyTransport(ITransport inner, ConcurrentQueue<string> log) : ITransport
{
    public string Name => inner.Name;

    public TransportCapabilities Capabilities => inner.Capabilities;

    public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => inner.SendAsync(message, cancellationToken);

    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
        => new SpyReceiver(await inner.CreateReceiverAsync(options, cancellationToken), log);

    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => inner.GetDeadLetterQueue(destination, consumerGroup);

    // The inner transport belongs to the test.
    public ValueTask DisposeAsync() => default;

    private sealed class SpyReceiver(ITransportReceiver inner, ConcurrentQueue<string> log) : ITransportReceiver
    {
        public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
            => new SpyReceived(await inner.ReceiveAsync(cancellationToken), log);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class SpyReceived(ReceivedMessage inner, ConcurrentQueue<string> log) : ReceivedMessage(inner.Message, inner.DeliveryCount)
    {
        public override IReadOnlyList<KeyValuePair<string, object?>> TransportTags => inner.TransportTags;

        public override ValueTask AckAsync(CancellationToken cancellationToken)
        {
            log.Enqueue("ack:" + Message.MessageId);
            return inner.AckAsync(cancellationToken);
        }

        public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
        {
            log.Enqueue("retry:" + Message.MessageId);
            return inner.RetryAsync(delay, cancellationToken);
        }

        public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
        {
            log.Enqueue("dlq:" + Message.MessageId);
            return inner.DeadLetterAsync(reason, cancellationToken);
        }
    }
}
