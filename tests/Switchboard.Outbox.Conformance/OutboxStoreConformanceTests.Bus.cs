using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;

namespace Switchboard.Outbox.Conformance;

public abstract partial class OutboxStoreConformanceTests
{
    [Fact]
    public async Task Bus_Commit_IsHandled_AndTheBusinessRowIsThere()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(e => handled.Enqueue(e.Id)));

        await PublishAsync(bus, new OcOrderPlaced("o-1"), businessId: "o-1");

        await Waiting.UntilAsync(() => handled.Contains("o-1"), Patience, () => "the committed message was not handled");
        Assert.True(await BusinessRowExistsAsync(store, "o-1"));
        await Waiting.UntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()).Pending == 0, Patience, () => "the row is still pending");
        Assert.Equal(["o-1"], handled);
    }

    [Fact]
    public async Task Bus_SendCommand_IsHandledByItsOneHandler_AfterCommit()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcShipOrder>(c => handled.Enqueue(c.Id)));
        IOutbox outbox = bus.GetOutbox();

        await InTransactionAsync(store, async tx => await outbox.SendAsync(tx, new OcShipOrder("s-1")), businessId: "s-1");

        await Waiting.UntilAsync(() => handled.Contains("s-1"), Patience, () => "the command was not handled");
    }

    [Fact]
    public async Task Bus_Rollback_IsNeverHandled()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(e => handled.Enqueue(e.Id)));

        await PublishAsync(bus, new OcOrderPlaced("rolled-back"), businessId: "rolled-back", commit: false);
        await PublishAsync(bus, new OcOrderPlaced("committed"), businessId: "committed");

        // Once the committed message is handled and marked, the dispatcher has read the table after the rollback; the
        // rolled-back message left no row, so no later claim can find it, and this process dispatched one message only.
        await Waiting.UntilAsync(() => handled.Contains("committed"), Patience);
        await Waiting.UntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()).Dispatched >= 1, Patience, () => "the committed message was not marked");
        Assert.Equal(["committed"], handled);
        Assert.Equal(1, (await bus.GetOutbox().GetStatisticsAsync()).Dispatched);
        Assert.False(await BusinessRowExistsAsync(store, "rolled-back"));
        OutboxStatistics statistics = await bus.GetOutbox().GetStatisticsAsync();
        Assert.Equal(0, statistics.Pending);
        Assert.Equal(0, statistics.Dead);
    }

    [Fact]
    public async Task Bus_Commit_WakesTheDispatcher_LongBeforeItsNextPoll()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentDictionary<string, long> handledAt = new();
        ConcurrentDictionary<string, int> sleepsAt = new();
        TimeSpan poll = TimeSpan.FromSeconds(37); // no other timer of the bus is this long
        DispatcherSleeps sleeps = new(poll);
        IMessageBus bus = Bus(
            store,
            b => b.UseTimeProvider(sleeps).Handle<OcOrderPlaced>(e =>
            {
                sleepsAt[e.Id] = sleeps.Count;
                handledAt[e.Id] = Stopwatch.GetTimestamp();
            }),
            o => o.PollInterval = poll);

        // The first message may be found by the dispatcher's first claim; after it, the dispatcher goes to sleep for the
        // poll interval (the signal: it starts a timer that long), and from then on only a commit's wake-up can find a row.
        await PublishAsync(bus, new OcOrderPlaced("warm-up"));
        await Waiting.UntilAsync(() => handledAt.ContainsKey("warm-up"), Patience, () => "the first message was not handled");
        await Waiting.UntilAsync(() => sleeps.Count > sleepsAt["warm-up"], Patience, () => "the dispatcher did not go to sleep");

        for (int i = 0; i < 3; i++)
        {
            string id = $"woken-{i}";
            await PublishAsync(bus, new OcOrderPlaced(id));
            long committedAt = Stopwatch.GetTimestamp();
            await Waiting.UntilAsync(() => handledAt.ContainsKey(id), Patience, () => $"{id} was not handled");
            TimeSpan took = Stopwatch.GetElapsedTime(committedAt, handledAt[id]);
            Assert.True(took < WakePatience, $"{id} was handled {took.TotalMilliseconds:0} ms after its commit; the commit should wake the dispatcher");
            await Waiting.UntilAsync(() => sleeps.Count > sleepsAt[id], Patience, () => $"the dispatcher did not go to sleep after {id}");
        }
    }

    [Fact]
    public async Task Bus_RowsOfOneKey_AreHandledInWrittenOrder_UnderConcurrency_AcrossBatches_WithARetryInTheMiddle()
    {
        const int perKey = 30;
        string[] keys = ["k-a", "k-b", "k-c", "k-d"];
        IOutboxStore store = await StoreAsync();
        ConcurrentDictionary<string, List<int>> order = new(StringComparer.Ordinal);
        int failedOnce = 0;
        IMessageBus bus = Bus(
            store,
            b => b.Handle<OcKeyed>(async (e, ct) =>
            {
                await Task.Delay(Random.Shared.Next(0, 3), ct);
                if (e.Key == "k-b" && e.Seq == 11 && Interlocked.Exchange(ref failedOnce, 1) == 0)
                {
                    throw new InvalidOperationException("fails once, in the middle of the key");
                }

                List<int> list = order.GetOrAdd(e.Key, _ => []);
                lock (list)
                {
                    list.Add(e.Seq);
                }
            }),
            o =>
            {
                o.BatchSize = 7;
                o.Concurrency = 4;
            });
        IOutbox outbox = bus.GetOutbox();

        // Written in many transactions while the dispatcher runs, keys interleaved.
        for (int seq = 0; seq < perKey; seq += 3)
        {
            int from = seq;
            await InTransactionAsync(store, async tx =>
            {
                for (int s = from; s < Math.Min(from + 3, perKey); s++)
                {
                    foreach (string key in keys)
                    {
                        await outbox.PublishAsync(tx, new OcKeyed(key, s), new OutboxMessageOptions { PartitionKey = key });
                    }
                }
            });
        }

        await Waiting.UntilAsync(
            () => keys.All(k => order.TryGetValue(k, out List<int>? list) && Count(list) == perKey),
            Patience,
            () => string.Join("; ", order.Select(p => $"{p.Key}: {Count(p.Value)}")));
        Assert.Equal(1, failedOnce);
        foreach (string key in keys)
        {
            Assert.Equal(Enumerable.Range(0, perKey), order[key]);
        }

        // A batch is marked (and counted) after its last handler returned: wait for the count, not just the handlers.
        await Waiting.UntilAsync(async () => (await outbox.GetStatisticsAsync()).Dispatched == keys.Length * perKey, Patience, () => "not every row was marked dispatched");
        OutboxStatistics statistics = await outbox.GetStatisticsAsync();
        Assert.Equal(keys.Length * perKey, statistics.Dispatched);
        Assert.Equal(1, statistics.Failed);

        static int Count(List<int> list)
        {
            lock (list)
            {
                return list.Count;
            }
        }
    }

    [Fact]
    public async Task Bus_FailingHandler_IsRetriedWithBackoff_ThenParkedDead_ReplayRunsItAgain()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<long> attempts = new();
        bool fail = true;
        ConcurrentQueue<string> handled = new();
        DispatcherSleeps sleeps = new(PollInterval);
        IMessageBus bus = Bus(
            store,
            b => b.UseTimeProvider(sleeps).Handle<OcFlaky>(e =>
            {
                attempts.Enqueue(Stopwatch.GetTimestamp());
                if (Volatile.Read(ref fail))
                {
                    throw new InvalidOperationException($"flaky {e.Id} failed");
                }

                handled.Enqueue(e.Id);
            }),
            o =>
            {
                o.Retry.MaxAttempts = 3;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(150);
                o.Retry.MaxDelay = TimeSpan.FromSeconds(1);
            });
        IOutbox outbox = bus.GetOutbox();

        await PublishAsync(bus, new OcFlaky("f-1"));

        await Waiting.UntilAsync(async () => (await outbox.DeadLetters.CountAsync()) == 1, Patience, () => $"not dead after {attempts.Count} attempt(s)");
        long[] at = [.. attempts];
        Assert.Equal(3, at.Length);
        Assert.True(Stopwatch.GetElapsedTime(at[0], at[1]) >= TimeSpan.FromMilliseconds(130), $"first retry after {Stopwatch.GetElapsedTime(at[0], at[1]).TotalMilliseconds:0} ms");
        Assert.True(Stopwatch.GetElapsedTime(at[1], at[2]) >= TimeSpan.FromMilliseconds(270), $"second retry after {Stopwatch.GetElapsedTime(at[1], at[2]).TotalMilliseconds:0} ms");

        Transport.DeadLetterMessage dead = Assert.Single(await outbox.DeadLetters.ListAsync());
        Assert.Contains("flaky f-1 failed", dead.Reason.Reason, StringComparison.Ordinal);
        Assert.Equal(3, dead.Reason.Attempts);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Reason.ExceptionType);
        OutboxStatistics statistics = await outbox.GetStatisticsAsync();
        Assert.Equal(1, statistics.Dead);
        Assert.Equal(0, statistics.Pending);
        Assert.Equal(1, statistics.DeadLettered);
        Assert.Equal(3, statistics.Failed);

        // Nothing more happens to a dead row: the dispatcher went through two more claims (it fell asleep twice after them)
        // and found nothing to do.
        int parkedAt = sleeps.Count;
        await Waiting.UntilAsync(() => sleeps.Count >= parkedAt + 2, Patience, () => "the dispatcher did not poll again");
        Assert.Equal(3, attempts.Count);

        Volatile.Write(ref fail, false);
        Assert.True(await outbox.DeadLetters.ReplayAsync(dead.Id));
        await Waiting.UntilAsync(() => handled.Contains("f-1"), Patience, () => "the replayed message was not handled");
        Assert.Equal(0, await outbox.DeadLetters.CountAsync());
        Assert.False(await outbox.DeadLetters.ReplayAsync(dead.Id));
    }

    [Fact]
    public async Task Bus_DeadLetters_DeleteRemovesTheRow()
    {
        IOutboxStore store = await StoreAsync();
        IMessageBus bus = Bus(store, b => b.Handle<OcFlaky>(e => throw new InvalidOperationException("always")), o => o.Retry.MaxAttempts = 1);
        IOutbox outbox = bus.GetOutbox();

        await PublishAsync(bus, new OcFlaky("f-2"));
        await Waiting.UntilAsync(async () => (await outbox.DeadLetters.CountAsync()) == 1, Patience);
        Transport.DeadLetterMessage dead = Assert.Single(await outbox.DeadLetters.ListAsync());
        Assert.Equal(1, dead.Reason.Attempts);

        Assert.True(await outbox.DeadLetters.DeleteAsync(dead.Id));
        Assert.False(await outbox.DeadLetters.DeleteAsync(dead.Id));
        Assert.False(await outbox.DeadLetters.DeleteAsync("not-a-row"));
        Assert.Empty(await outbox.DeadLetters.ListAsync());
        OutboxStatistics statistics = await outbox.GetStatisticsAsync();
        Assert.Equal(0, statistics.Dead);
        Assert.Equal(0, statistics.Pending);
    }

    [Fact]
    public async Task Bus_UnknownTypeName_IsParkedDeadAtOnce()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(e => handled.Enqueue(e.Id)));
        IOutbox outbox = bus.GetOutbox();

        await AddRowsAsync(store, Raw(OutboxRows.LocalDestination, "oc.no-such-type", "{}"));
        await PublishAsync(bus, new OcOrderPlaced("after"));

        await Waiting.UntilAsync(async () => (await outbox.DeadLetters.CountAsync()) == 1, Patience, () => "the unreadable row was not parked");
        Transport.DeadLetterMessage dead = Assert.Single(await outbox.DeadLetters.ListAsync());
        Assert.Equal(1, dead.Reason.Attempts);
        Assert.Equal("oc.no-such-type", dead.Message.GetHeader(MessageHeaders.MessageType));
        Assert.False(string.IsNullOrWhiteSpace(dead.Reason.Reason));
        await Waiting.UntilAsync(() => handled.Contains("after"), Patience, () => "a dead row held back the next message");
    }

    [Fact]
    public async Task Bus_Inbox_SameMessageIdDispatchedTwice_HasOneEffect_AndAReplayMarkIsHandledAgain()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        string table = await BusinessTableAsync(store);
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(async (e, context, ct) =>
        {
            // The effect is written in the inbox's transaction: a duplicate would fail on the primary key.
            DbTransaction tx = context.Transaction ?? throw new InvalidOperationException("no inbox transaction");
            await ExecuteAsync(tx.Connection!, tx, $"INSERT INTO {table} (id) VALUES (@id)", ("@id", $"{e.Id}-{handled.Count}"));
            handled.Enqueue(e.Id);
        }));
        IOutbox outbox = bus.GetOutbox();

        await PublishAsync(bus, new OcOrderPlaced("d-1"), options: new OutboxMessageOptions { MessageId = $"dup-{Run}" });
        await PublishAsync(bus, new OcOrderPlaced("d-1"), options: new OutboxMessageOptions { MessageId = $"dup-{Run}" });

        await Waiting.UntilAsync(async () => (await outbox.GetStatisticsAsync()) is { Pending: 0, Dispatched: 2 }, Patience);
        Assert.Equal(["d-1"], handled);
        Assert.Equal(1, (await outbox.GetStatisticsAsync()).DuplicatesSkipped);

        Dictionary<string, string> replay = new(StringComparer.Ordinal) { [MessageHeaders.Replay] = "1" };
        await PublishAsync(bus, new OcOrderPlaced("d-1"), options: new OutboxMessageOptions { MessageId = $"dup-{Run}", Headers = replay });
        await Waiting.UntilAsync(() => handled.Count == 2, Patience, () => "the replay was not handled");
        Assert.Equal(1, (await outbox.GetStatisticsAsync()).DuplicatesSkipped);
    }

    [Fact]
    public async Task Bus_CascadeFromAHandler_GoesThroughTheOutbox_InTheInboxTransaction()
    {
        IOutboxStore store = await StoreAsync();
        string table = await BusinessTableAsync(store);
        ConcurrentQueue<string> cascaded = new();
        bool? hadTransaction = null;
        IMessageBus bus = Bus(store, b => b
            .Handle<OcCascadeStart>(async (e, context, ct) =>
            {
                hadTransaction = context.Transaction is not null;
                DbTransaction tx = context.Transaction!;
                await ExecuteAsync(tx.Connection!, tx, $"INSERT INTO {table} (id) VALUES (@id)", ("@id", $"cascade-{e.Id}"));
                await context.PublishAsync(new OcCascaded(e.Id), ct);
            })
            .Handle<OcCascaded>(e => cascaded.Enqueue(e.Id)));
        IOutbox outbox = bus.GetOutbox();

        await PublishAsync(bus, new OcCascadeStart("c-1"));

        await Waiting.UntilAsync(() => cascaded.Contains("c-1"), Patience, () => "the cascaded event was not handled");
        Assert.True(hadTransaction);
        Assert.True(await BusinessRowExistsAsync(store, "cascade-c-1"));
        await Waiting.UntilAsync(async () => (await outbox.GetStatisticsAsync()) is { Pending: 0, Dispatched: 2 }, Patience);
        OutboxStatistics statistics = await outbox.GetStatisticsAsync();
        Assert.Equal(2, statistics.Added); // the cascade was a row of the outbox, not a direct publish
    }

    [Fact]
    public async Task Bus_CascadeFromAFailingHandler_IsRolledBackWithIt()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> cascaded = new();
        int attempts = 0;
        IMessageBus bus = Bus(
            store,
            b => b
                .Handle<OcCascadeStart>(async (e, context, ct) =>
                {
                    await context.PublishAsync(new OcCascaded($"{e.Id}-{Interlocked.Increment(ref attempts)}"), ct);
                    if (Volatile.Read(ref attempts) == 1)
                    {
                        throw new InvalidOperationException("after the cascade");
                    }
                })
                .Handle<OcCascaded>(e => cascaded.Enqueue(e.Id)));

        await PublishAsync(bus, new OcCascadeStart("c-2"));

        // Every row marked, and two of them (the start and the retried handler's cascade): a rolled-back cascade left no row.
        await Waiting.UntilAsync(() => cascaded.Contains("c-2-2"), Patience, () => "the retried handler's cascade was not handled");
        await Waiting.UntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()) is { Pending: 0, Dispatched: >= 2 }, Patience);
        Assert.Equal(2, (await bus.GetOutbox().GetStatisticsAsync()).Dispatched);
        Assert.Equal(["c-2-2"], cascaded);
    }

    /// <summary>How long a bus without a dispatcher is watched for dispatching on its own (see the test that uses it).</summary>
    private TimeSpan NoDispatcherWatched => PollInterval * 3;

    [Fact]
    public async Task Bus_ProcessAsync_WithoutADispatcher_DispatchesEverything_AndReturnsTheCount()
    {
        IOutboxStore store = await StoreAsync();
        ConcurrentQueue<string> handled = new();
        IMessageBus bus = Bus(store, b => b.Handle<OcOrderPlaced>(e => handled.Enqueue(e.Id)), o =>
        {
            o.RunDispatcher = false;
            o.BatchSize = 4;
        });
        IOutbox outbox = bus.GetOutbox();

        for (int i = 0; i < 10; i++)
        {
            await PublishAsync(bus, new OcOrderPlaced($"p-{i}"));
        }

        // A bounded window, on purpose: the claim is that no dispatcher exists, and an absence sends no signal. A dispatcher,
        // had one been started, would have claimed these rows within three poll intervals (it claims when it starts and after
        // every poll interval).
        await Task.Delay(NoDispatcherWatched);
        Assert.Empty(handled);
        OutboxStatistics before = await outbox.GetStatisticsAsync();
        Assert.Equal(10, before.Pending);
        Assert.Equal(10, before.Added);
        Assert.True(before.OldestPendingAge >= TimeSpan.Zero);

        Assert.Equal(10, await outbox.ProcessAsync());
        Assert.Equal(10, handled.Count);
        Assert.Equal(0, await outbox.ProcessAsync());

        OutboxStatistics after = await outbox.GetStatisticsAsync();
        Assert.Equal(0, after.Pending);
        Assert.Equal(10, after.Dispatched);
        Assert.Equal(TimeSpan.Zero, after.OldestPendingAge);
    }

    [Fact]
    public async Task Bus_Statistics_CountPendingDeadAndFailures()
    {
        IOutboxStore store = await StoreAsync();
        IMessageBus bus = Bus(
            store,
            b => b.Handle<OcOrderPlaced>(_ => { }).Handle<OcFlaky>(e => throw new InvalidOperationException("no")),
            o =>
            {
                o.RunDispatcher = false;
                o.Retry.MaxAttempts = 1;
            });
        IOutbox outbox = bus.GetOutbox();
        await PublishAsync(bus, new OcOrderPlaced("s-1"));
        await PublishAsync(bus, new OcOrderPlaced("s-2"));
        await PublishAsync(bus, new OcFlaky("s-3"));

        OutboxStatistics before = await outbox.GetStatisticsAsync();
        Assert.Equal((3L, 0L, 3L), (before.Pending, before.Dead, before.Added));

        Assert.Equal(2, await outbox.ProcessAsync());
        OutboxStatistics after = await outbox.GetStatisticsAsync();
        Assert.Equal(0, after.Pending);
        Assert.Equal(1, after.Dead);
        Assert.Equal(2, after.Dispatched);
        Assert.Equal(1, after.Failed);
        Assert.Equal(1, after.DeadLettered);
        Assert.Equal(0, after.DuplicatesSkipped);
    }
}
