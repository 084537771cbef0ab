using Switchboard.Outbox.Conformance;
using Switchboard.Sqlite;

namespace Switchboard.Outbox.Tests.Sqlite;

/// <summary>The outbox store conformance suite on SQLite: a temporary database file per test.</summary>
public sealed class SqliteOutboxStoreConformanceTests : OutboxStoreConformanceTests
{
    private readonly TemporaryDatabase _database = new();

    protected override ValueTask<IOutboxStore> CreateStoreAsync()
        => ValueTask.FromResult<IOutboxStore>(new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = _database.ConnectionString }));

    protected override async ValueTask<int> ReadSchemaVersionAsync(IOutboxStore store)
        => await ((SqliteOutboxStore)store).GetSchemaVersionAsync() ?? 0;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}
