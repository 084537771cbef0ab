using Npgsql;
using Switchboard.IntegrationTests.Postgres;
using Switchboard.IntegrationTests.Worker;

namespace Switchboard.IntegrationTests.Outbox;

/// <summary>The outbox faults on PostgreSQL: each test in a schema of its own, the outage test in a database of its own.</summary>
public sealed class PostgresOutboxFaultTests : OutboxFaultTests
{
    protected override string Kind => FaultStores.Postgres;

    protected override string ConnectionString => PostgresServer.ConnectionString;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgresServer.DropSchemaAsync(Space);
    }

    protected override async Task<long> CountOutboxRowsAsync(string messageId)
    {
        await using NpgsqlConnection connection = new(ConnectionString);
        await connection.OpenAsync();
        return await ScalarAsync(connection, $"SELECT COUNT(*) FROM {Space}.switchboard_outbox WHERE message_id = @id", messageId);
    }

    protected override async Task<DatabaseOutage> PrepareOutageAsync() => await PostgresOutage.CreateAsync();

    /// <summary>
    /// A database created for one test: cut by refusing new connections (<c>ALLOW_CONNECTIONS false</c>) and terminating the
    /// open ones, as a server restart or a network cut would look to the store.
    /// </summary>
    private sealed class PostgresOutage : DatabaseOutage
    {
        private readonly string _database = "sbfault_" + Guid.NewGuid().ToString("N")[..12];

        public override string ConnectionString => new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = _database }.ConnectionString;

        public static async Task<PostgresOutage> CreateAsync()
        {
            PostgresOutage outage = new();
            await PostgresServer.ExecuteAsync($"CREATE DATABASE {outage._database}");
            return outage;
        }

        public override async Task BreakAsync()
        {
            await PostgresServer.ExecuteAsync($"ALTER DATABASE {_database} WITH ALLOW_CONNECTIONS false");
            await PostgresServer.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{_database}' AND pid <> pg_backend_pid()");
        }

        public override async Task RestoreAsync()
        {
            await PostgresServer.ExecuteAsync($"ALTER DATABASE {_database} WITH ALLOW_CONNECTIONS true");

            // The test's own pooled connections were terminated too (the store's data source has a pool of its own).
            NpgsqlConnection.ClearAllPools();
        }

        public override async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresServer.ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
    }
}
