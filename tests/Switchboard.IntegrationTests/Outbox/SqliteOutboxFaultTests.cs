using Microsoft.Data.Sqlite;
using Switchboard.IntegrationTests.Worker;

namespace Switchboard.IntegrationTests.Outbox;

/// <summary>The outbox faults on SQLite: each test on a database file of its own in a temporary directory.</summary>
public sealed class SqliteOutboxFaultTests : OutboxFaultTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("switchboard-outbox-faults-").FullName;

    protected override string Kind => FaultStores.Sqlite;

    protected override string ConnectionString => $"Data Source={Path.Combine(_directory, "app.db")}";

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
        }
    }

    protected override async Task<long> CountOutboxRowsAsync(string messageId)
    {
        await using SqliteConnection connection = new(ConnectionString);
        await connection.OpenAsync();
        return await ScalarAsync(connection, $"SELECT COUNT(*) FROM {Space}outbox WHERE message_id = @id", messageId);
    }

    protected override Task<DatabaseOutage> PrepareOutageAsync() => Task.FromResult<DatabaseOutage>(new SqliteOutage(ConnectionString));

    /// <summary>
    /// SQLite has no server to go away: what the inbox meets instead is a database it cannot write, here because another
    /// connection holds an exclusive transaction far beyond the store's busy timeout (100 ms in the test). Beginning the
    /// inbox's transaction fails with SQLITE_BUSY, as a begin fails on an unreachable server. The store's connections use
    /// "Default Timeout=1" so that Microsoft.Data.Sqlite gives up after a second instead of retrying for 30.
    /// </summary>
    private sealed class SqliteOutage(string connectionString) : DatabaseOutage
    {
        private SqliteConnection? _locker;
        private SqliteTransaction? _exclusive;

        public override string ConnectionString => connectionString + ";Default Timeout=1";

        public override async Task BreakAsync()
        {
            _locker = new SqliteConnection(connectionString + ";Pooling=False");
            await _locker.OpenAsync();
            _exclusive = _locker.BeginTransaction(deferred: false);
            await using SqliteCommand command = _locker.CreateCommand();
            command.Transaction = _exclusive;

            // Takes the write lock now and keeps it until RestoreAsync.
            command.CommandText = $"CREATE TABLE IF NOT EXISTS outage_lock (id INTEGER); INSERT INTO outage_lock (id) VALUES (1)";
            await command.ExecuteNonQueryAsync();
        }

        public override async Task RestoreAsync()
        {
            if (_exclusive is not null)
            {
                await _exclusive.RollbackAsync();
                await _exclusive.DisposeAsync();
                _exclusive = null;
            }

            if (_locker is not null)
            {
                await _locker.DisposeAsync();
                _locker = null;
            }
        }

        public override async ValueTask DisposeAsync() => await RestoreAsync();
    }
}
