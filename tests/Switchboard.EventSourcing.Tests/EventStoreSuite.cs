using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.EventSourcing.Worker;
using Switchboard.Outbox;

namespace Switchboard.EventSourcing.Tests;

/// <summary>
/// What every event store does, with the repository and the catch-up projection on top of it: run against the in-memory,
/// SQLite and PostgreSQL stores (each test on a database of its own).
/// </summary>
public abstract class EventStoreSuite : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<IDisposable> _disposeSync = [];

    /// <summary>Gets whether the bus gets an outbox on the store's database.</summary>
    protected abstract bool HasOutbox { get; }

    /// <summary>Gets the read model table a projection writes in its transaction, or <see langword="null"/> in memory.</summary>
    protected abstract string? ReadModelTable { get; }

    /// <summary>Returns a store on this test's database (a new object each time for a database store).</summary>
    protected abstract IEventStore CreateStore(EventTypes types);

    /// <summary>Gives a bus an outbox on this test's database (nothing for the in-memory store).</summary>
    protected abstract void UseOutbox(BusBuilder builder, bool runDispatcher);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (IDisposable disposable in _disposeSync)
        {
            disposable.Dispose();
        }

        for (int i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task Append_ThenReadStream_ReturnsTheEventsInVersionOrder()
    {
        IEventStore store = Store();
        long version = await store.AppendAsync("TestOrder-a", 0, [Placed("a"), Line("a", "s1", 2)]);
        Assert.Equal(3, await store.AppendAsync("TestOrder-a", version, [Line("a", "s2", 1)]));

        IReadOnlyList<StoredEvent> stream = await store.ReadStreamAsync("TestOrder-a");
        Assert.Equal([1L, 2L, 3L], stream.Select(e => e.Version));
        Assert.IsType<TestOrderPlaced>(stream[0].Event);
        Assert.Equal("s2", Assert.IsType<TestOrderLineAdded>(stream[2].Event).Sku);
        Assert.Equal("test.order-line-added", stream[2].EventType);
        Assert.Equal([3L], (await store.ReadStreamAsync("TestOrder-a", afterVersion: 2)).Select(e => e.Version));
        Assert.Empty(await store.ReadStreamAsync("TestOrder-missing"));
    }

    [Fact]
    public async Task Append_AtAStaleVersion_ThrowsConcurrencyExceptionNamingTheStreamAndBothVersions_AndWritesNothing()
    {
        IEventStore store = Store();
        await store.AppendAsync("TestOrder-b", 0, [Placed("b"), Line("b", "s1", 1)]);

        ConcurrencyException ex = await Assert.ThrowsAsync<ConcurrencyException>(() => store.AppendAsync("TestOrder-b", 1, [Line("b", "late", 1)]).AsTask());
        Assert.Equal(("TestOrder-b", 1L, 2L), (ex.StreamId, ex.ExpectedVersion, ex.ActualVersion));
        Assert.Contains("'TestOrder-b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected version 1", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ConcurrencyException>(() => store.AppendAsync("TestOrder-new", 3, [Placed("new")]).AsTask());

        Assert.Equal(2, (await store.ReadStreamAsync("TestOrder-b")).Count);
        Assert.Empty(await store.ReadStreamAsync("TestOrder-new"));
        Assert.Equal(2, (await store.ReadAllAsync(0, 100)).Count);
    }

    [Fact]
    public async Task ReadAll_AfterAPosition_ReturnsEveryStreamsLaterEventsInPositionOrder()
    {
        IEventStore store = Store();
        await store.AppendAsync("TestOrder-c1", 0, [Placed("c1")]);
        await store.AppendAsync("TestOrder-c2", 0, [Placed("c2"), Line("c2", "x", 1)]);
        await store.AppendAsync("TestOrder-c1", 1, [Line("c1", "y", 1)]);

        IReadOnlyList<StoredEvent> all = await store.ReadAllAsync(0, 100);
        Assert.Equal(["TestOrder-c1", "TestOrder-c2", "TestOrder-c2", "TestOrder-c1"], all.Select(e => e.StreamId));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Position < p.Second.Position), "positions increase");

        IReadOnlyList<StoredEvent> later = await store.ReadAllAsync(all[1].Position, 2);
        Assert.Equal([all[2].Position, all[3].Position], later.Select(e => e.Position));
        Assert.Empty(await store.ReadAllAsync(all[3].Position, 10));
    }

    [Fact]
    public async Task Append_UnregisteredEventType_FailsNamingTheStreamAndVersion_AndWritesNothing()
    {
        IEventStore store = Store();
        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(
            () => store.AppendAsync("TestOrder-d", 0, [Placed("d"), new TestOrderNoteAdded("hello")]).AsTask());
        Assert.Contains(typeof(TestOrderNoteAdded).FullName!, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'TestOrder-d'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 2", ex.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ReadStreamAsync("TestOrder-d"));
    }

    [Fact]
    public async Task Checkpoint_SetThenGet_RoundTrips()
    {
        IEventStore store = Store();
        Assert.Equal(0, await store.GetCheckpointAsync("p1"));
        await store.SetCheckpointAsync("p1", 42);
        await store.SetCheckpointAsync("p1", 43);
        await store.SetCheckpointAsync("p2", 7);
        Assert.Equal((43L, 7L), (await store.GetCheckpointAsync("p1"), await store.GetCheckpointAsync("p2")));
    }

    [Fact]
    public async Task Repository_SaveThenLoad_ReplaysTheState_AndAMissingAggregateFailsClearly()
    {
        IMessageBus bus = Bus(_ => { });
        AggregateRepository<TestOrder> repository = Repository(bus);
        Assert.Equal(HasOutbox, repository.PublishesThroughOutbox);

        TestOrder order = repository.CreateNew("e");
        order.Place("alice", 1_999);
        order.AddLine("sku-1", 2);
        await repository.SaveAsync(order);
        Assert.Equal((2L, 2L, 0), (order.Version, order.PersistedVersion, order.UncommittedEvents.Count));
        order.Ship();
        await repository.SaveAsync(order);

        TestOrder loaded = await repository.LoadAsync("e");
        Assert.Equal(("alice", 1_999L, 1, true, 3L), (loaded.Customer, loaded.AmountCents, loaded.Lines, loaded.Shipped, loaded.Version));
        Assert.Empty(loaded.UncommittedEvents);

        AggregateNotFoundException missing = await Assert.ThrowsAsync<AggregateNotFoundException>(() => repository.LoadAsync("nope").AsTask());
        Assert.Contains("TestOrder 'nope'", missing.Message, StringComparison.Ordinal);
        Assert.Null(await repository.TryLoadAsync("nope"));
    }

    [Fact]
    public async Task Repository_Save_PublishesEachEventOnce_StampedWithTheAggregatesIdTypeAndVersion()
    {
        ConcurrentQueue<(DomainEvent Event, string MessageId)> published = new();
        IMessageBus bus = Bus(b => b
            .Handle<TestOrderPlaced>((e, context, _) => { published.Enqueue((e, context.MessageId)); return default; })
            .Handle<TestOrderLineAdded>((e, context, _) => { published.Enqueue((e, context.MessageId)); return default; }));
        AggregateRepository<TestOrder> repository = Repository(bus);

        TestOrder order = repository.CreateNew("f");
        order.Place("bob", 5);
        order.AddLine("sku-9", 1);
        await repository.SaveAsync(order);

        await WaitUntilAsync(() => published.Count >= 2, "both events are handled");
        await NothingLeftToDispatchAsync(bus);
        Assert.Equal(2, published.Count);
        DomainEvent[] events = [.. published.Select(p => p.Event).OrderBy(e => e.AggregateVersion)];
        Assert.All(events, e => Assert.Equal(("f", "TestOrder"), (e.AggregateId, e.AggregateType)));
        Assert.Equal([1L, 2L], events.Select(e => e.AggregateVersion));
        if (HasOutbox)
        {
            Assert.Equal(["TestOrder-f@1", "TestOrder-f@2"], published.Select(p => p.MessageId).Order());
        }
    }

    [Fact]
    public async Task Repository_TwoWritersSaveTheSameAggregateAtOnce_OneWins_TheLosersEventsAreNeitherStoredNorPublished()
    {
        ConcurrentQueue<string> lines = new();
        IMessageBus bus = Bus(b => b.Handle<TestOrderLineAdded>(e => lines.Enqueue(e.Sku)));
        AggregateRepository<TestOrder> repository = Repository(bus);
        TestOrder order = repository.CreateNew("g");
        order.Place("carol", 10);
        await repository.SaveAsync(order);

        TestOrder first = await repository.LoadAsync("g");
        TestOrder second = await repository.LoadAsync("g");
        first.AddLine("first", 1);
        second.AddLine("second", 1);
        Task<Exception?>[] saves = [SaveCatchingAsync(repository, first), SaveCatchingAsync(repository, second)];
        Exception?[] outcomes = await Task.WhenAll(saves);

        ConcurrencyException conflict = Assert.IsType<ConcurrencyException>(Assert.Single(outcomes, o => o is not null));
        Assert.Equal(("TestOrder-g", 1L, 2L), (conflict.StreamId, conflict.ExpectedVersion, conflict.ActualVersion));
        string winner = outcomes[0] is null ? "first" : "second";
        string loser = winner == "first" ? "second" : "first";

        IReadOnlyList<StoredEvent> stream = await repository.Store.ReadStreamAsync("TestOrder-g");
        Assert.Equal(2, stream.Count);
        Assert.Equal(winner, Assert.IsType<TestOrderLineAdded>(stream[1].Event).Sku);

        await WaitUntilAsync(() => lines.Contains(winner), "the winner's event is published");
        await NothingLeftToDispatchAsync(bus);
        Assert.DoesNotContain(loser, lines);
        Assert.Single(lines);
        if (HasOutbox)
        {
            OutboxStatistics stats = await bus.GetOutbox().GetStatisticsAsync();
            Assert.Equal((0L, 0L), (stats.Pending, stats.Dead));
        }
    }

    [Fact]
    public async Task Repository_SaveWithAnUnregisteredEvent_FailsClearly_AndNothingIsStoredOrPublished()
    {
        ConcurrentQueue<string> placed = new();
        IMessageBus bus = Bus(b => b.Handle<TestOrderPlaced>(e => placed.Enqueue(e.Customer)));
        AggregateRepository<TestOrder> repository = Repository(bus);
        TestOrder order = repository.CreateNew("h");
        order.Place("dave", 1);
        order.AddNote("not registered");

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => repository.SaveAsync(order).AsTask());
        Assert.Contains("'TestOrder-h'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, order.UncommittedEvents.Count);
        Assert.Null(await repository.TryLoadAsync("h"));
        await NothingLeftToDispatchAsync(bus);
        Assert.Empty(placed);
    }

    [Fact]
    public async Task Projection_CatchesUpFromItsCheckpoint_ThenFollowsLiveEvents_AndResumesWhereItStopped()
    {
        IMessageBus bus = Bus(_ => { });
        AggregateRepository<TestOrder> repository = Repository(bus);
        await SaveOrderAsync(repository, "p1", lines: 2); // positions 1..3

        TestProjection projection = new("orders-" + Guid.NewGuid().ToString("N")[..6], ReadModelTable);
        await CreateReadModelAsync(repository.Store);
        using CancellationTokenSource stop = new();
        Task running;
        using (CatchUpProjectionRunner runner = new(repository.Store, projection, Fast()))
        {
            running = runner.RunAsync(stop.Token);
            await runner.WaitForPositionAsync(3).WaitAsync(Patience);

            await SaveOrderAsync(repository, "p2", lines: 1); // positions 4..5, live
            await runner.WaitForPositionAsync(5).WaitAsync(Patience);
            await stop.CancelAsync();
            await running.WaitAsync(Patience);
        }

        Assert.Equal(5, await repository.Store.GetCheckpointAsync(projection.Name));
        await SaveOrderAsync(repository, "p3", lines: 0); // position 6, while the projection is stopped

        using CatchUpProjectionRunner resumed = new(repository.Store, projection, Fast());
        Assert.Equal(1, await resumed.CatchUpAsync());
        Assert.Equal(6, resumed.Position);
        Assert.Equal(6, projection.Attempts);
        Assert.Equal(new long[] { 1L, 2L, 3L, 4L, 5L, 6L }, await ReadModelAsync(repository.Store, projection));
    }

    [Fact]
    public async Task Projection_FailingEvent_StopsThereWithoutSkipping_AndResumesFromTheSameEvent()
    {
        IMessageBus bus = Bus(_ => { });
        AggregateRepository<TestOrder> repository = Repository(bus);
        await SaveOrderAsync(repository, "q", lines: 3); // positions 1..4
        TestProjection projection = new("failing-" + Guid.NewGuid().ToString("N")[..6], ReadModelTable) { FailAt = 3 };
        await CreateReadModelAsync(repository.Store);

        using CatchUpProjectionRunner runner = new(repository.Store, projection, Fast(batchSize: 10));
        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.CatchUpAsync().AsTask());
        Assert.Contains("fails at 3", ex.Message, StringComparison.Ordinal);
        Assert.Same(ex, runner.LastError);
        Assert.Equal(0, await repository.Store.GetCheckpointAsync(projection.Name));
        if (ReadModelTable is not null)
        {
            Assert.Empty(await ReadModelAsync(repository.Store, projection)); // the batch's writes rolled back with it
        }

        projection.FailAt = -1;
        projection.InMemory.Clear();
        Assert.Equal(4, await runner.CatchUpAsync());
        Assert.Null(runner.LastError);
        Assert.Equal(new long[] { 1L, 2L, 3L, 4L }, await ReadModelAsync(repository.Store, projection));
        Assert.Equal(4, await repository.Store.GetCheckpointAsync(projection.Name));
    }

    [Fact]
    public async Task Projection_Rebuild_EmptiesTheReadModelAndReplaysFromPositionZero()
    {
        IMessageBus bus = Bus(_ => { });
        AggregateRepository<TestOrder> repository = Repository(bus);
        await SaveOrderAsync(repository, "r", lines: 2);
        TestProjection projection = new("rebuilt-" + Guid.NewGuid().ToString("N")[..6], ReadModelTable);
        await CreateReadModelAsync(repository.Store);

        using CatchUpProjectionRunner runner = new(repository.Store, projection, Fast(batchSize: 2));
        Assert.Equal(3, await runner.CatchUpAsync());
        Assert.Equal(3, await runner.RebuildAsync());
        Assert.Equal(6, projection.Attempts);
        Assert.Equal(new long[] { 1L, 2L, 3L }, await ReadModelAsync(repository.Store, projection));
        Assert.Equal(3, await repository.Store.GetCheckpointAsync(projection.Name));
    }

    protected static EventTypes Types() => TestOrder.Types();

    protected IEventStore Store() => Track(CreateStore(Types()));

    protected IMessageBus Bus(Action<BusBuilder> configure, bool runDispatcher = true)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            TestOrder.AddMessageTypes(b.Configure(o => o.Name = "es-" + Guid.NewGuid().ToString("N")[..6]));
            if (HasOutbox)
            {
                UseOutbox(b, runDispatcher);
            }

            configure(b);
        });
        _disposables.Add(bus);
        return bus;
    }

    protected AggregateRepository<TestOrder> Repository(IMessageBus bus) => new(Store(), bus, id => new TestOrder(id));

    protected T Track<T>(T value)
    {
        if (value is IAsyncDisposable disposable)
        {
            _disposables.Add(disposable);
        }
        else if (value is IDisposable sync)
        {
            _disposeSync.Add(sync);
        }

        return value;
    }

    protected static CatchUpProjectionOptions Fast(int batchSize = 256) => new()
    {
        BatchSize = batchSize,
        PollInterval = TimeSpan.FromMilliseconds(100),
        RetryDelay = TimeSpan.FromMilliseconds(50),
    };

    protected static async Task SaveOrderAsync(AggregateRepository<TestOrder> repository, string id, int lines)
    {
        TestOrder order = repository.CreateNew(id);
        order.Place("customer-" + id, 100);
        for (int i = 0; i < lines; i++)
        {
            order.AddLine("sku-" + i, 1);
        }

        await repository.SaveAsync(order);
    }

    /// <summary>
    /// Waits until nothing saved so far can still be published: without an outbox a save publishes before it returns; with
    /// one, every row is marked dispatched once none is pending (its handlers ran before the mark).
    /// </summary>
    protected async Task NothingLeftToDispatchAsync(IMessageBus bus)
    {
        if (!HasOutbox)
        {
            return;
        }

        Stopwatch elapsed = Stopwatch.StartNew();
        while ((await bus.GetOutbox().GetStatisticsAsync()).Pending != 0)
        {
            Assert.True(elapsed.Elapsed < Patience, "outbox rows are still pending");
            await Task.Delay(10);
        }
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        Stopwatch elapsed = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(elapsed.Elapsed < Patience, $"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    private static TestOrderPlaced Placed(string id) => new("customer-" + id, 100) { AggregateId = id, AggregateType = "TestOrder", AggregateVersion = 1 };

    private static TestOrderLineAdded Line(string id, string sku, int quantity) => new(sku, quantity) { AggregateId = id, AggregateType = "TestOrder" };

    private static async Task<Exception?> SaveCatchingAsync(AggregateRepository<TestOrder> repository, TestOrder order)
    {
        await Task.Yield();
        try
        {
            await repository.SaveAsync(order);
            return null;
        }
        catch (ConcurrencyException ex)
        {
            return ex;
        }
    }

    private async Task CreateReadModelAsync(IEventStore store)
    {
        if (ReadModelTable is null)
        {
            return;
        }

        await using System.Data.Common.DbConnection connection = await ((RelationalEventStore)store).OpenConnectionAsync();
        await using System.Data.Common.DbCommand command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE IF NOT EXISTS {ReadModelTable} (position BIGINT NOT NULL PRIMARY KEY, stream_id TEXT NOT NULL); DELETE FROM {ReadModelTable};";
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long[]> ReadModelAsync(IEventStore store, TestProjection projection)
    {
        if (ReadModelTable is null)
        {
            return [.. projection.InMemory.Order()];
        }

        List<long> positions = [];
        await using System.Data.Common.DbConnection connection = await ((RelationalEventStore)store).OpenConnectionAsync();
        await using System.Data.Common.DbCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT position FROM {ReadModelTable} ORDER BY position";
        await using System.Data.Common.DbDataReader reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            positions.Add(reader.GetInt64(0));
        }

        return [.. positions];
    }
}

public sealed class InMemoryEventStoreTests : EventStoreSuite
{
    private InMemoryEventStore? _store;

    protected override bool HasOutbox => false;

    protected override string? ReadModelTable => null;

    protected override IEventStore CreateStore(EventTypes types) => _store ??= new InMemoryEventStore(types);

    protected override void UseOutbox(BusBuilder builder, bool runDispatcher)
    {
    }
}
