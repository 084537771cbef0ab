using System.Text;
using Switchboard.Kafka;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>The Kafka receiver keeps the bus's time (<see cref="ReceiverOptions.TimeProvider"/>), not the system clock's.</summary>
public sealed class KafkaClockTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_dead_letter_is_dated_by_the_bus_clock()
    {
        string prefix = KafkaServer.NewPrefix();
        const string destination = "clocked";
        await KafkaServer.CreateTopicAsync(prefix + destination, partitions: 1);
        DateTimeOffset then = new(2031, 5, 4, 3, 2, 1, TimeSpan.Zero);
        await using KafkaTransport transport = new(KafkaServer.Options(prefix));
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(
            new ReceiverOptions(destination, "billing", "only") { TimeProvider = new FixedClock(then) }, CancellationToken.None);
        await transport.SendAsync(new TransportMessage
        {
            Destination = destination,
            Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "clocked-1" },
            Body = Encoding.UTF8.GetBytes("{}"),
        }, CancellationToken.None);

        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
        await received.DeadLetterAsync(new DeadLetterReason("refused", null, null, 1), CancellationToken.None);

        DeadLetterMessage entry = Assert.Single(await transport.GetDeadLetterQueue(destination, "billing").ListAsync(10, timeout.Token));
        Assert.Equal(then, entry.DeadLetteredAt);
    }

    /// <summary>A clock standing at one instant; its timers are the system's.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
