using System.Text;
using Switchboard.Kafka;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// A partition with <see cref="KafkaTransportOptions.MaxInFlightPerPartition"/> records unsettled: the receiver waits for
/// room before it pauses it (a pause makes librdkafka drop what it fetched ahead and fetch it again), and pauses it only when
/// the handlers stay behind.
/// </summary>
public sealed class KafkaBackpressureTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly string _prefix = KafkaServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task FullPartition_WhoseHandlersKeepUp_IsNotPaused_AndEveryRecordComesOnceInOrder()
    {
        const string destination = "keepup";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransportOptions options = KafkaServer.Options(_prefix);
        options.MaxInFlightPerPartition = 4;
        KafkaTransport transport = Own(new KafkaTransport(options));
        for (int i = 0; i < 40; i++)
        {
            await transport.SendAsync(Message(destination, $"m-{i}", key: $"key-{i}"), CancellationToken.None);
        }

        // The records are fetched together, so the partition fills (4 unsettled) at once, again and again; each is settled
        // as soon as it is received, well within the wait for room.
        KafkaReceiver receiver = (KafkaReceiver)Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "one"), CancellationToken.None));
        List<string> bodies = [];
        using (CancellationTokenSource timeout = new(Patience))
        {
            while (bodies.Count < 40)
            {
                ReceivedMessage next = await receiver.ReceiveAsync(timeout.Token);
                bodies.Add(Body(next));
                await next.AckAsync(CancellationToken.None);
            }
        }

        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m-{i}"), bodies);
        // Pausing at every fill (the earlier behaviour) paused it about 36 times here; one stall of the test's thread longer
        // than the wait (500 ms) on a loaded machine may pause it once.
        Assert.True(receiver.Pauses <= 1, $"paused {receiver.Pauses} times");
    }

    [Fact]
    public async Task FullPartition_WhoseHandlersStayBehind_IsPaused_ThenResumed_WithoutLosingTheGroupOrARecord()
    {
        const string destination = "behind";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransportOptions options = KafkaServer.Options(_prefix);
        options.MaxInFlightPerPartition = 2;
        options.MaxPollInterval = TimeSpan.FromSeconds(2); // the wait for room is at most a quarter of it: 500 ms
        KafkaTransport transport = Own(new KafkaTransport(options));
        for (int i = 0; i < 6; i++)
        {
            await transport.SendAsync(Message(destination, $"m-{i}", key: $"key-{i}"), CancellationToken.None);
        }

        KafkaReceiver receiver = (KafkaReceiver)Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "one"), CancellationToken.None));
        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage first = await receiver.ReceiveAsync(timeout.Token);
        ReceivedMessage second = await receiver.ReceiveAsync(timeout.Token);

        // Both held (handlers busy) for longer than the wait and than max.poll.interval.ms: the partition is paused, and the
        // member keeps polling, so it keeps its group and its partition.
        await Eventually.TrueAsync(() => receiver.Pauses >= 1, Patience);
        await Task.Delay(TimeSpan.FromSeconds(2.5), TimeProvider.System, timeout.Token);
        await first.AckAsync(CancellationToken.None);
        await second.AckAsync(CancellationToken.None);
        List<ReceivedMessage> rest = [];
        while (rest.Count < 4)
        {
            ReceivedMessage next = await receiver.ReceiveAsync(timeout.Token);
            rest.Add(next);
            await next.AckAsync(CancellationToken.None);
        }

        Assert.Equal(["m-0", "m-1", "m-2", "m-3", "m-4", "m-5"], [Body(first), Body(second), .. rest.Select(Body)]);
        Assert.All([first, second, .. rest], r => Assert.Equal(1, r.DeliveryCount));
        await Eventually.TrueAsync(() => transport.GetStreamInfoAsync(destination, "billing").Result.Lag == 0, Patience);
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private static string Body(ReceivedMessage message) => Encoding.UTF8.GetString(message.Message.Body.Span);

    private static TransportMessage Message(string destination, string body, string? key) => new()
    {
        Destination = destination,
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N") },
        Body = Encoding.UTF8.GetBytes(body),
        PartitionKey = key,
    };
}
