using Microsoft.Data.Sqlite;
using Switchboard.EventSourcing.Sqlite;
using Switchboard.EventSourcing.Worker;
using Switchboard.Sqlite;

namespace Switchboard.EventSourcing.Tests;

/// <summary>The suite on SQLite: a database file of its own per test.</summary>
public sealed class SqliteEventStoreTests : RelationalEventStoreSuite
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sb-es-" + Guid.NewGuid().ToString("N")[..12]);

    public SqliteEventStoreTests() => Directory.CreateDirectory(_directory);

    protected override string Kind => "sqlite";

    protected override string ConnectionString => $"Data Source={Path.Combine(_directory, "events.db")}";

    protected override string Space => "es_";

    protected override string EventsTable => "es_events";

    protected override string? ReadModelTable => "read_model";

    protected override IEventStore CreateStore(EventTypes types)
        => new SqliteEventStore(new SqliteEventStoreOptions { ConnectionString = ConnectionString, TablePrefix = Space }, types);

    protected override void UseOutbox(BusBuilder builder, bool runDispatcher)
        => builder.UseSqliteOutbox(new SqliteOutboxStoreOptions { ConnectionString = ConnectionString, TablePrefix = Space }, o =>
        {
            o.RunDispatcher = runDispatcher;
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.LeaseDuration = TimeSpan.FromSeconds(1);
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    [Fact]
    public void SharesDatabaseWith_TheOutboxOnTheSameFileOnly()
    {
        using TempStore store = new(ConnectionString);
        Assert.True(store.Value.SharesDatabaseWith(new SqliteOutboxStore(ConnectionString)));
        Assert.True(store.Value.SharesDatabaseWith(new SqliteOutboxStore($"Data Source={Path.Combine(_directory, ".", "events.db")}")));
        Assert.False(store.Value.SharesDatabaseWith(new SqliteOutboxStore($"Data Source={Path.Combine(_directory, "other.db")}")));
    }

    [Fact]
    public async Task Repository_WithTheOutboxOnAnotherDatabase_AppendsThenPublishes()
    {
        System.Collections.Concurrent.ConcurrentQueue<string> placed = new();
        IMessageBus bus = MessageBus.Create(b => TestOrder.AddMessageTypes(b)
            .UseSqliteOutbox($"Data Source={Path.Combine(_directory, "other.db")}")
            .Handle<TestOrderPlaced>(e => placed.Enqueue(e.AggregateId)));
        Track(bus);
        AggregateRepository<TestOrder> repository = new(Store(), bus, id => new TestOrder(id));
        Assert.False(repository.PublishesThroughOutbox);

        TestOrder order = repository.CreateNew("elsewhere");
        order.Place("hal", 4);
        await repository.SaveAsync(order);
        Assert.Equal(["elsewhere"], placed); // published directly, before SaveAsync returned
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using System.Data.Common.DbConnection connection = await ((RelationalEventStore)repository.Store).OpenConnectionAsync();
            await using System.Data.Common.DbTransaction transaction = await connection.BeginTransactionAsync();
            await repository.SaveAsync(order, transaction);
        });
    }

    private sealed class TempStore(string connectionString) : IDisposable
    {
        public SqliteEventStore Value { get; } = new(connectionString);

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
