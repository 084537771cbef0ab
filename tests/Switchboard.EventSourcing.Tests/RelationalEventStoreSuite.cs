using System.Collections.Concurrent;
using System.Data.Common;
using Switchboard.EventSourcing.Worker;
using Switchboard.Outbox;

namespace Switchboard.EventSourcing.Tests;

/// <summary>What the database stores add: the outbox in the same transaction (for real across a killed process), the application's own transaction, and stored events that cannot be read.</summary>
public abstract class RelationalEventStoreSuite : EventStoreSuite
{
    protected override bool HasOutbox => true;

    /// <summary>Gets the worker's store argument: <c>sqlite</c> or <c>postgres</c>.</summary>
    protected abstract string Kind { get; }

    protected abstract string ConnectionString { get; }

    /// <summary>Gets the SQLite table prefix or the PostgreSQL schema of this test.</summary>
    protected abstract string Space { get; }

    /// <summary>Gets the events table's qualified name.</summary>
    protected abstract string EventsTable { get; }

    [Fact]
    public async Task ProcessKilled_AfterTheSaveCommitted_BeforeAnyDispatch_EventsArePublishedOnceAfterRestart()
    {
        const string id = "killed";
        await using (ChildProcess child = ChildProcess.Start("save", Kind, ConnectionString, Space, id))
        {
            await child.WaitForLineAsync($"saved {id}", Patience);
            await child.KillAsync();
        }

        // What the killed process left: the stream and its three outbox rows, committed and not dispatched.
        IEventStore store = Store();
        Assert.Equal(3, (await store.ReadStreamAsync("TestOrder-" + id)).Count);

        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        void Count(DomainEvent e) => handled.AddOrUpdate(e.GetType().Name + "@" + e.AggregateVersion, 1, (_, n) => n + 1);
        IMessageBus restarted = Bus(b => b
            .Handle<TestOrderPlaced>(Count)
            .Handle<TestOrderLineAdded>(Count)
            .Handle<TestOrderShipped>(Count));

        await WaitUntilAsync(() => handled.Count == 3, "the three events saved by the killed process are published after the restart");
        await NothingLeftToDispatchAsync(restarted); // marked dispatched: no dispatcher can claim them again
        Assert.Equal(
            [("TestOrderLineAdded@2", 1), ("TestOrderPlaced@1", 1), ("TestOrderShipped@3", 1)],
            handled.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)));
        OutboxStatistics stats = await restarted.GetOutbox().GetStatisticsAsync();
        Assert.Equal((0L, 0L), (stats.Pending, stats.Dead));
    }

    [Fact]
    public async Task Save_EventsNobodyHandles_AreDeliveredToNobody_AndDoNotHoldBackTheAggregatesLaterEvents()
    {
        ConcurrentQueue<string> shipped = new();
        IMessageBus bus = Bus(b => b.Handle<TestOrderShipped>(e => shipped.Enqueue(e.AggregateId)));
        AggregateRepository<TestOrder> repository = Repository(bus);
        TestOrder order = repository.CreateNew("unhandled");
        order.Place("ivan", 1);       // no handler
        order.AddLine("sku", 1);      // no handler
        order.Ship();                 // handled
        await repository.SaveAsync(order);

        await WaitUntilAsync(() => shipped.Contains("unhandled"), "the handled event after two unhandled ones of its aggregate is published");
        // A row is marked dispatched after its handlers ran (in the same or the next claim): wait for the marks, bounded.
        OutboxStatistics stats = await bus.GetOutbox().GetStatisticsAsync();
        for (int i = 0; i < 200 && stats.Pending > 0; i++)
        {
            await Task.Delay(50);
            stats = await bus.GetOutbox().GetStatisticsAsync();
        }

        Assert.Equal((0L, 0L, 0L), (stats.Pending, stats.Dead, stats.Failed));
    }

    [Fact]
    public async Task SaveInTheApplicationsTransaction_CommitsWithItsData_AndARollbackStoresAndPublishesNothing()
    {
        ConcurrentQueue<string> placed = new();
        IMessageBus bus = Bus(b => b.Handle<TestOrderPlaced>(e => placed.Enqueue(e.AggregateId)));
        AggregateRepository<TestOrder> repository = Repository(bus);
        RelationalEventStore store = (RelationalEventStore)repository.Store;
        await store.EnsureSchemaAsync();

        TestOrder rolledBack = repository.CreateNew("rolled-back");
        rolledBack.Place("erin", 1);
        await using (DbConnection connection = await store.OpenConnectionAsync())
        await using (DbTransaction transaction = await store.BeginTransactionAsync(connection))
        {
            await repository.SaveAsync(rolledBack, transaction);
            await transaction.RollbackAsync();
        }

        TestOrder committed = repository.CreateNew("committed");
        committed.Place("frank", 2);
        await using (DbConnection connection = await store.OpenConnectionAsync())
        await using (DbTransaction transaction = await store.BeginTransactionAsync(connection))
        {
            await repository.SaveAsync(committed, transaction);
            await transaction.CommitAsync();
        }

        committed.AcceptSavedEvents();
        Assert.Equal(1, committed.PersistedVersion);
        await WaitUntilAsync(() => placed.Contains("committed"), "the committed save is published");
        await NothingLeftToDispatchAsync(bus);
        Assert.Equal(["committed"], placed);
        Assert.Null(await repository.TryLoadAsync("rolled-back"));
        Assert.Equal("frank", (await repository.LoadAsync("committed")).Customer);
    }

    [Fact]
    public async Task StoredEventOfAnUnregisteredType_LoadAndProjectionFailNamingTheStreamAndPosition_NothingSkipped()
    {
        EventTypes withNotes = Types().Add<TestOrderNoteAdded>("test.order-note-added");
        IEventStore writer = Track(CreateStore(withNotes));
        AggregateRepository<TestOrder> writing = new(writer, Bus(_ => { }), id => new TestOrder(id));
        TestOrder order = writing.CreateNew("noted");
        order.Place("gina", 3);
        order.AddNote("a note");
        await writing.SaveAsync(order); // positions 1 and 2

        AggregateRepository<TestOrder> reading = Repository(Bus(_ => { }));
        EventStoreReadException load = await Assert.ThrowsAsync<EventStoreReadException>(() => reading.LoadAsync("noted").AsTask());
        Assert.Equal(("TestOrder-noted", 2L, 2L), (load.StreamId, load.Position, load.Version));
        Assert.Contains("'test.order-note-added' is not registered", load.Message, StringComparison.Ordinal);

        TestProjection projection = new("unreadable-" + Guid.NewGuid().ToString("N")[..6], null);
        using CatchUpProjectionRunner runner = new(reading.Store, projection, Fast(batchSize: 1));
        EventStoreReadException read = await Assert.ThrowsAsync<EventStoreReadException>(() => runner.CatchUpAsync().AsTask());
        Assert.Equal(2, read.Position);
        Assert.Equal(1, runner.Position); // the readable event before it was projected; the unreadable one is not passed
        Assert.Equal(1, await reading.Store.GetCheckpointAsync(projection.Name));
        Assert.Same(read, runner.LastError);
    }

    [Fact]
    public async Task StoredEventWithAnUnreadableBody_FailsNamingTheStreamAndPosition()
    {
        IMessageBus bus = Bus(_ => { });
        AggregateRepository<TestOrder> repository = Repository(bus);
        await SaveOrderAsync(repository, "corrupt", lines: 1);
        RelationalEventStore store = (RelationalEventStore)repository.Store;
        await using (DbConnection connection = await store.OpenConnectionAsync())
        await using (DbCommand command = connection.CreateCommand())
        {
            command.CommandText = $"UPDATE {EventsTable} SET body = @body WHERE position = 2";
            DbParameter body = command.CreateParameter();
            body.ParameterName = "@body";
            body.Value = "{not json"u8.ToArray();
            command.Parameters.Add(body);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        EventStoreReadException ex = await Assert.ThrowsAsync<EventStoreReadException>(() => repository.LoadAsync("corrupt").AsTask());
        Assert.Equal(("TestOrder-corrupt", 2L, 2L), (ex.StreamId, ex.Position, ex.Version));
        Assert.Contains("not a valid", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<EventStoreReadException>(() => store.ReadAllAsync(0, 10).AsTask());
    }
}
