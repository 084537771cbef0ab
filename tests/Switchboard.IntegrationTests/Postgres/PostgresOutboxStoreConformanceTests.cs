using Npgsql;
using Switchboard.Outbox;
using Switchboard.Outbox.Conformance;
using Switchboard.Postgres;

namespace Switchboard.IntegrationTests.Postgres;

/// <summary>The outbox store conformance suite against a real PostgreSQL: each store gets a schema of its own, dropped afterwards.</summary>
public sealed class PostgresOutboxStoreConformanceTests : OutboxStoreConformanceTests
{
    private readonly List<string> _schemas = [];

    protected override ValueTask<IOutboxStore> CreateStoreAsync()
    {
        string schema = PostgresServer.NewSchema();
        _schemas.Add(schema);
        return ValueTask.FromResult<IOutboxStore>(new PostgresOutboxStore(new PostgresOutboxStoreOptions
        {
            ConnectionString = PostgresServer.ConnectionString,
            Schema = schema,
        }));
    }

    protected override async ValueTask<int> ReadSchemaVersionAsync(IOutboxStore store)
    {
        PostgresOutboxStore postgres = (PostgresOutboxStore)store;
        await using NpgsqlCommand command = postgres.DataSource.CreateCommand(
            $"SELECT max(version) FROM \"{postgres.Options.Schema}\".\"{postgres.Options.TablePrefix}schema\"");
        return (int)(await command.ExecuteScalarAsync())!;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (string schema in _schemas)
        {
            await PostgresServer.DropSchemaAsync(schema);
        }
    }
}
