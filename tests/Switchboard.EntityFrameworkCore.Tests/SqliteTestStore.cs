using System.Data.Common;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.EntityFrameworkCore.Tests;

/// <summary>
/// A small IOutboxStore on a real SQLite file, so that these tests exercise real transactions without depending on the
/// Switchboard.Sqlite package. It counts the connections it opens: the EF Core path must not need one of its own.
/// </summary>
internal sealed class SqliteTestStore(string connectionString) : IOutboxStore
{
    private int _opened;

    public string Name => "sqlite-test";

    public int ConnectionsOpened => Volatile.Read(ref _opened);

    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS switchboard_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
                partition_key TEXT, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                not_before INTEGER, lease_owner TEXT, lease_until INTEGER, dispatched_at INTEGER, dead_at INTEGER, dead_reason TEXT);
            CREATE TABLE IF NOT EXISTS switchboard_inbox (
                consumer TEXT NOT NULL, message_id TEXT NOT NULL, processed_at INTEGER NOT NULL, PRIMARY KEY (consumer, message_id));
            """, cancellationToken);
    }

    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opened);
        return await OpenAsync(cancellationToken);
    }

    public async ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default)
    {
        foreach (TransportMessage message in messages)
        {
            await using DbCommand command = transaction.Connection!.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO switchboard_outbox (destination, headers, body, partition_key, created_at) VALUES ($d, $h, $b, $k, $t)";
            Add(command, "$d", message.Destination);
            Add(command, "$h", OutboxRows.SerializeHeaders(message.Headers));
            Add(command, "$b", message.Body.ToArray());
            Add(command, "$k", message.PartitionKey);
            Add(command, "$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IAsyncDisposable>(new Nothing());

    public async ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken);
        List<OutboxMessage> rows = [];
        await using (DbCommand select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = """
                SELECT id, destination, headers, body, partition_key, created_at, attempts, last_error FROM switchboard_outbox o
                WHERE dispatched_at IS NULL AND dead_at IS NULL AND (lease_until IS NULL OR lease_until <= $now)
                  AND (not_before IS NULL OR not_before <= $now)
                  AND (partition_key IS NULL OR NOT EXISTS (SELECT 1 FROM switchboard_outbox p WHERE p.partition_key = o.partition_key
                       AND p.id < o.id AND p.dispatched_at IS NULL AND p.dead_at IS NULL AND (p.lease_until > $now OR p.not_before > $now)))
                ORDER BY id LIMIT $n
                """;
            Add(select, "$now", claim.Now.ToUnixTimeMilliseconds());
            Add(select, "$n", claim.BatchSize);
            await using DbDataReader reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new OutboxMessage
                {
                    Id = reader.GetInt64(0),
                    Message = new TransportMessage
                    {
                        Destination = reader.GetString(1),
                        Headers = OutboxRows.DeserializeHeaders(reader.GetString(2)),
                        Body = (byte[])reader.GetValue(3),
                        PartitionKey = reader.IsDBNull(4) ? null : reader.GetString(4),
                    },
                    CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                    Attempts = reader.GetInt32(6),
                    LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
                });
            }
        }

        foreach (OutboxMessage row in rows)
        {
            await ExecuteAsync(connection, transaction, $"UPDATE switchboard_outbox SET lease_owner = '{claim.Owner}', lease_until = {claim.LeaseUntil.ToUnixTimeMilliseconds()} WHERE id = {row.Id}", cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return rows;
    }

    public ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default)
        => UpdateAsync($"UPDATE switchboard_outbox SET dispatched_at = {dispatchedAt.ToUnixTimeMilliseconds()}, lease_until = NULL WHERE id IN ({string.Join(',', ids)})", cancellationToken);

    public async ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = failure is null
            ? "UPDATE switchboard_outbox SET lease_until = NULL, not_before = $nb WHERE id = $id"
            : "UPDATE switchboard_outbox SET lease_until = NULL, not_before = $nb, attempts = attempts + 1, last_error = $e WHERE id = $id";
        Add(command, "$nb", notBefore?.ToUnixTimeMilliseconds());
        Add(command, "$e", failure);
        Add(command, "$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE switchboard_outbox SET lease_until = NULL, dead_at = $t, dead_reason = $r, attempts = $a WHERE id = $id";
        Add(command, "$t", deadAt.ToUnixTimeMilliseconds());
        Add(command, "$r", reason.Reason);
        Add(command, "$a", reason.Attempts);
        Add(command, "$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IReadOnlyList<OutboxMessage>>([]);

    public ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

    public ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(0);

    public async ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        long pending = await ScalarAsync("SELECT COUNT(*) FROM switchboard_outbox WHERE dispatched_at IS NULL AND dead_at IS NULL", cancellationToken);
        long dead = await ScalarAsync("SELECT COUNT(*) FROM switchboard_outbox WHERE dead_at IS NOT NULL", cancellationToken);
        return new OutboxCounts(pending, dead, null);
    }

    public async ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
    {
        await using DbCommand command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT OR IGNORE INTO switchboard_inbox (consumer, message_id, processed_at) VALUES ($c, $m, $t)";
        Add(command, "$c", consumer);
        Add(command, "$m", messageId);
        Add(command, "$t", processedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Runs a query on a connection of the test's own, outside any transaction under test.</summary>
    public async ValueTask<long> ScalarAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync() => default;

    private async ValueTask UpdateAsync(string sql, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, sql, cancellationToken);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = new(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private sealed class Nothing : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => default;
    }
}
