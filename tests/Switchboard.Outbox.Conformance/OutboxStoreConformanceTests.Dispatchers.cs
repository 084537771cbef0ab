using System.Collections.Concurrent;
using System.Diagnostics;

namespace Switchboard.Outbox.Conformance;

public abstract partial class OutboxStoreConformanceTests
{
    [Fact]
    public async Task Bus_RowLeasedByADispatcherThatDied_IsDispatchedOnlyAfterTheLeaseEnds()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentDictionary<string, long> handledAt = new();
        IMessageBus writer = Bus(store, b => b.Handle<OcOrderPlaced>(_ => { }), o => o.RunDispatcher = false, name: $"oc-writer-{Run}");
        await PublishAsync(writer, new OcOrderPlaced("orphan"));

        // A dispatcher claims the row and dies: nobody marks or releases it.
        // The lease runs from `now`, taken before the claim: a claim that itself takes long on a busy machine (CI ran one
        // for most of the lease) must not count against the dispatcher that waits the lease out.
        long leaseStart = Stopwatch.GetTimestamp();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        TimeSpan lease = TimeSpan.FromSeconds(1.5);
        Assert.Single(await store.ClaimAsync(new OutboxClaim("dead-dispatcher", 10, now, now + lease)));
        TimeSpan claimTook = Stopwatch.GetElapsedTime(leaseStart);

        Bus(store, b => b.Handle<OcOrderPlaced>(e => handledAt[e.Id] = Stopwatch.GetTimestamp()));

        await Waiting.UntilAsync(() => handledAt.ContainsKey("orphan"), Patience, () => "the orphaned row was never dispatched");
        TimeSpan after = Stopwatch.GetElapsedTime(leaseStart, handledAt["orphan"]);
        Assert.True(
            after >= lease - TimeSpan.FromMilliseconds(100),
            $"dispatched {after.TotalMilliseconds:0} ms after the lease began (the claim took {claimTook.TotalMilliseconds:0} ms), inside its {lease.TotalMilliseconds:0} ms lease");
    }

    [Fact]
    public async Task Bus_TwoDispatchersOnOneStore_HandleEveryRowOnce_AndKeepTheOrderPerKey()
    {
        const int count = 80;
        IOutboxStore store = await StoreAsync();
        ConcurrentDictionary<string, int> handled = new();
        ConcurrentDictionary<string, List<int>> order = new();
        ConcurrentDictionary<string, int> perDispatcher = new();
        for (int d = 0; d < 2; d++)
        {
            string me = $"d{d}";
            Bus(
                store,
                b => b.Handle<OcKeyed>(async (e, ct) =>
                {
                    await Task.Delay(1, ct);
                    handled.AddOrUpdate($"{e.Key}/{e.Seq}", 1, static (_, n) => n + 1);
                    List<int> list = order.GetOrAdd(e.Key, _ => []);
                    lock (list)
                    {
                        list.Add(e.Seq);
                    }

                    perDispatcher.AddOrUpdate(me, 1, static (_, n) => n + 1);
                }),
                o => o.BatchSize = 5);
        }

        IMessageBus writer = Bus(store, b => b.Handle<OcKeyed>(_ => { }), o => o.RunDispatcher = false, name: $"oc-writer-{Run}");
        IOutbox outbox = writer.GetOutbox();
        for (int i = 0; i < count; i += 10)
        {
            int from = i;
            await InTransactionAsync(store, async tx =>
            {
                for (int s = from; s < from + 10; s++)
                {
                    string key = $"k{s % 4}";
                    await outbox.PublishAsync(tx, new OcKeyed(key, s), new OutboxMessageOptions { PartitionKey = key });
                }
            });
        }

        // Two dispatchers take turns at the database's write lock (SQLite has one writer): give them time.
        await Waiting.UntilAsync(() => handled.Count == count, Patience * 2, () => $"{handled.Count} of {count} handled");
        // Every row marked dispatched: no dispatcher can claim one again.
        await Waiting.UntilAsync(async () => (await store.CountAsync()).Pending == 0, Patience, () => "rows are still pending");
        Assert.All(handled, h => Assert.True(h.Value == 1, $"{h.Key} handled {h.Value} times"));
        foreach ((string key, List<int> seqs) in order)
        {
            Assert.Equal(seqs.Order(), seqs);
        }

        Assert.Equal(count, perDispatcher.Values.Sum());
    }

    [Fact]
    public async Task Bus_MessageRoutedToATransport_IsSentAfterCommit_AndHandledByTheConsumer()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b
            .RouteToTransport<OcOrderPlaced>($"oc-orders-{Run}")
            .Handle<OcOrderPlaced>(e => handled.Enqueue(e.Id)));

        await PublishAsync(bus, new OcOrderPlaced("rolled-back"), commit: false);
        await PublishAsync(bus, new OcOrderPlaced("sent"), businessId: "sent");

        await Waiting.UntilAsync(() => handled.Contains("sent"), Patience, () => "the routed message was not handled");
        // One row dispatched and none pending: the rolled-back message has no row, so nothing can send it later.
        await Waiting.UntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()) is { Pending: 0, Dispatched: 1 }, Patience);
        Assert.Equal(["sent"], handled);
    }

    [Fact]
    public async Task Bus_ManyRowsInOneTransaction_AreAllHandled_InManyBatches()
    {
        const int count = 400;
        IOutboxStore store = await StoreAsync();
        ConcurrentDictionary<string, byte> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(e => handled[e.Id] = 0), o => o.BatchSize = 32);
        IOutbox outbox = bus.GetOutbox();

        await InTransactionAsync(store, async tx =>
        {
            for (int i = 0; i < count; i++)
            {
                await outbox.PublishAsync(tx, new OcOrderPlaced($"m-{i}"));
            }
        });

        await Waiting.UntilAsync(() => handled.Count == count, Patience, () => $"{handled.Count} of {count} handled");
        await Waiting.UntilAsync(async () => (await outbox.GetStatisticsAsync()).Pending == 0, Patience);
    }
}
