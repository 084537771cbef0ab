using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Switchboard.Kafka;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

public sealed record KfDeposit(string Account, int Sequence);

/// <summary>
/// <see cref="BusBuilder.PartitionBy{T}(Func{T, string?})"/> over Kafka: one key, one partition, in order; and the record's
/// partition, offset and key on the consumer's span. The span test listens process-wide, so the class runs alone.
/// </summary>
[Collection(nameof(KafkaFaultCollection))]
public sealed class KafkaPartitionKeyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
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
    public async Task PartitionBy_EveryMessageOfAKey_LandsOnOnePartition_InTheOrderSent()
    {
        const string destination = "deposits";
        const int perKey = 10;
        string[] accounts = ["acc-a", "acc-b", "acc-c", "acc-d"];
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        ITransportReceiver receiver = Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "ledger", "ledger-1"), CancellationToken.None));
        IMessageBus sender = await BusAsync("web", b => b.PartitionBy<KfDeposit>(d => d.Account).RouteToTransport<KfDeposit>(destination));

        for (int i = 0; i < perKey; i++)
        {
            foreach (string account in accounts)
            {
                await sender.PublishAsync(new KfDeposit(account, i));
            }
        }

        Dictionary<string, List<(int Sequence, string Partition, long Offset)>> seen = [];
        using CancellationTokenSource timeout = new(Patience);
        for (int n = 0; n < accounts.Length * perKey; n++)
        {
            ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
            KfDeposit deposit = JsonSerializer.Deserialize<KfDeposit>(received.Message.Body.Span, JsonSerializerOptions.Web)!;
            Dictionary<string, object?> tags = received.TransportTags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(deposit.Account, received.Message.PartitionKey);
            Assert.Equal(deposit.Account, tags["messaging.kafka.message.key"]);
            (seen.TryGetValue(deposit.Account, out var list) ? list : seen[deposit.Account] = []).Add((deposit.Sequence, (string)tags["messaging.destination.partition.id"]!, (long)tags["messaging.kafka.offset"]!));
            await received.AckAsync(CancellationToken.None);
        }

        foreach (string account in accounts)
        {
            List<(int Sequence, string Partition, long Offset)> records = seen[account];
            Assert.Single(records.Select(r => r.Partition).Distinct());
            Assert.Equal(Enumerable.Range(0, perKey), records.Select(r => r.Sequence));
            Assert.Equal(records.Select(r => r.Offset).Order(), records.Select(r => r.Offset));
        }
    }

    [Fact]
    public async Task ConsumerSpan_CarriesTheRecordsPartitionOffsetAndKey()
    {
        const string destination = "spans";
        ConcurrentQueue<Activity> stopped = new();
        using ActivityListener listener = new()
        {
            ShouldListenTo = source => source.Name == SwitchboardDiagnostics.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        TaskCompletionSource handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus sender = await BusAsync("web", b => b.PartitionBy<KfDeposit>(d => d.Account).RouteToTransport<KfDeposit>(destination));
        await BusAsync("ledger", b => b.RouteToTransport<KfDeposit>(destination).Handle<KfDeposit>(_ => handled.TrySetResult()));

        await sender.PublishAsync(new KfDeposit("acc-9", 1));
        await handled.Task.WaitAsync(Patience);

        // The span stops just after the handler returned.
        Activity? Span() => stopped.FirstOrDefault(a => a.Kind == ActivityKind.Consumer && Equals(a.GetTagItem("messaging.destination.name"), destination));
        await Eventually.TrueAsync(() => Span() is not null, Patience);
        Activity span = Span()!;
        Assert.Equal("kafka", span.GetTagItem("messaging.system"));
        Assert.Equal("acc-9", span.GetTagItem("messaging.kafka.message.key"));
        Assert.Equal(0L, span.GetTagItem("messaging.kafka.offset"));
        Assert.True(int.TryParse((string?)span.GetTagItem("messaging.destination.partition.id"), out int partition) && partition is >= 0 and < 4);
    }

    private async Task<IMessageBus> BusAsync(string name, Action<BusBuilder> configure)
    {
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        IMessageBus bus = Own(MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.UseKafka(transport);
            configure(b);
        }));
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        return bus;
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
