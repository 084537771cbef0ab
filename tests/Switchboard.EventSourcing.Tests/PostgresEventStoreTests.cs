using Npgsql;
using Switchboard.EventSourcing.Postgres;
using Switchboard.Postgres;

namespace Switchboard.EventSourcing.Tests;

/// <summary>
/// The suite on the PostgreSQL that scripts/servers.sh started (SWITCHBOARD_POSTGRES), in a schema of its own per test.
/// Without the server these tests fail with that message; they never skip.
/// </summary>
public sealed class PostgresEventStoreTests : RelationalEventStoreSuite
{
    private readonly string _schema = "sbes_" + Guid.NewGuid().ToString("N")[..12];

    public static string Server
        => Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "SWITCHBOARD_POSTGRES is not set, so there is no PostgreSQL to test against. Run scripts/test.sh (it starts PostgreSQL on " +
                "127.0.0.1:5433 through scripts/servers.sh and sets it), or start one and set SWITCHBOARD_POSTGRES to an Npgsql connection string.");

    protected override string Kind => "postgres";

    protected override string ConnectionString => Server;

    protected override string Space => _schema;

    protected override string EventsTable => $"\"{_schema}\".switchboard_events";

    protected override string? ReadModelTable => $"\"{_schema}\".read_model";

    protected override IEventStore CreateStore(EventTypes types)
        => new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = Server, Schema = _schema }, types);

    protected override void UseOutbox(BusBuilder builder, bool runDispatcher)
        => builder.UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = Server, Schema = _schema }, o =>
        {
            o.RunDispatcher = runDispatcher;
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.LeaseDuration = TimeSpan.FromSeconds(1);
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(Server);
        await using NpgsqlCommand drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task ConcurrentAppendsToManyStreams_ReaderFollowingPositions_NeverMissesAnEvent()
    {
        IEventStore store = Store();
        const int Writers = 8;
        const int PerWriter = 25;
        using CancellationTokenSource done = new();
        List<long> seen = [];
        Task reader = Task.Run(async () =>
        {
            long position = 0;
            while (true)
            {
                bool finished = done.IsCancellationRequested;
                IReadOnlyList<StoredEvent> batch = await store.ReadAllAsync(position, 50);
                foreach (StoredEvent e in batch)
                {
                    seen.Add(e.Position);
                    position = e.Position;
                }

                if (finished && batch.Count == 0)
                {
                    return;
                }
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                await store.AppendAsync($"TestOrder-w{w}", i, [new Worker.TestOrderLineAdded("s", 1) { AggregateId = $"w{w}", AggregateType = "TestOrder" }]);
            }
        })));
        await done.CancelAsync();
        await reader.WaitAsync(Patience);

        // A reader that only moves forward saw every position: none was committed behind it.
        Assert.Equal(Writers * PerWriter, seen.Count);
        Assert.Equal(seen.Order(), seen);
        Assert.Equal(Writers * PerWriter, seen.Distinct().Count());
    }

    [Fact]
    public void SharesDatabaseWith_TheOutboxOnTheSameDatabase()
    {
        PostgresEventStore store = (PostgresEventStore)Store();
        Assert.True(store.SharesDatabaseWith(new PostgresOutboxStore(Server)));
        NpgsqlConnectionStringBuilder other = new(Server) { Database = "postgres" };
        Assert.False(store.SharesDatabaseWith(new PostgresOutboxStore(other.ConnectionString)));
    }
}
