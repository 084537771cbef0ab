using Npgsql;
using NpgsqlTypes;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Postgres;

public sealed partial class PostgresOutboxStore
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        using NpgsqlCommand command = _dataSource.CreateCommand(
            $"""
            SELECT id, destination, partition_key, headers::text, body, created_at, attempts, last_error,
                   dead_at, dead_reason, dead_exception_type, dead_exception_details
            FROM {_outbox} WHERE dead_at IS NOT NULL ORDER BY id LIMIT @count
            """);
        command.Parameters.AddWithValue("count", count);
        List<OutboxMessage> rows = [];
        NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                IReadOnlyDictionary<string, string> headers;
                try
                {
                    headers = OutboxRows.DeserializeHeaders(reader.GetString(3));
                }
                catch (FormatException)
                {
                    headers = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                int attempts = reader.GetInt32(6);
                rows.Add(new OutboxMessage
                {
                    Id = reader.GetInt64(0),
                    Message = new TransportMessage
                    {
                        Destination = reader.GetString(1),
                        PartitionKey = reader.IsDBNull(2) ? null : reader.GetString(2),
                        Headers = headers,
                        Body = reader.GetFieldValue<byte[]>(4),
                    },
                    CreatedAt = reader.GetFieldValue<DateTimeOffset>(5),
                    Attempts = attempts,
                    LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
                    DeadAt = reader.GetFieldValue<DateTimeOffset>(8),
                    DeadReason = new DeadLetterReason(
                        reader.IsDBNull(9) ? "Unknown" : reader.GetString(9),
                        reader.IsDBNull(10) ? null : reader.GetString(10),
                        reader.IsDBNull(11) ? null : reader.GetString(11),
                        attempts),
                });
            }
        }

        return rows;
    }

    /// <inheritdoc />
    public async ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default)
    {
        NpgsqlBatch batch = _dataSource.CreateBatch();
        await using (batch.ConfigureAwait(false))
        {
            NpgsqlBatchCommand revive = new(
                $"""
                UPDATE {_outbox} SET dead_at = NULL, dead_reason = NULL, dead_exception_type = NULL, dead_exception_details = NULL,
                    attempts = 0, last_error = NULL, not_before = NULL, lease_owner = NULL, lease_until = NULL
                WHERE dead_at IS NOT NULL AND (@id::bigint IS NULL OR id = @id::bigint)
                """);
            revive.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Bigint) { Value = id is { } value ? value : DBNull.Value });
            batch.BatchCommands.Add(revive);

            // The batch runs as one transaction: other processes' dispatchers wake when the revived rows are visible.
            NpgsqlBatchCommand notify = new("SELECT pg_notify(@channel, '')");
            notify.Parameters.AddWithValue("channel", _channel);
            batch.BatchCommands.Add(notify);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return revive.RecordsAffected;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default)
    {
        using NpgsqlCommand command = _dataSource.CreateCommand($"DELETE FROM {_outbox} WHERE id = @id AND dead_at IS NOT NULL");
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
    {
        // In chunks: a long backlog of dispatched rows never holds one huge delete (and its locks) open.
        int deleted = 0;
        deleted += await DeleteInChunksAsync(
            $"DELETE FROM {_outbox} WHERE id IN (SELECT id FROM {_outbox} WHERE dispatched_at < @before LIMIT {DeleteChunk})",
            dispatchedBefore,
            cancellationToken).ConfigureAwait(false);
        deleted += await DeleteInChunksAsync(
            $"DELETE FROM {_inbox} WHERE (consumer, message_id) IN (SELECT consumer, message_id FROM {_inbox} WHERE processed_at < @before LIMIT {DeleteChunk})",
            processedBefore,
            cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <inheritdoc />
    public async ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        using NpgsqlCommand command = _dataSource.CreateCommand(
            $"""
            SELECT (SELECT count(*) FROM {_outbox} WHERE dispatched_at IS NULL AND dead_at IS NULL),
                   (SELECT count(*) FROM {_outbox} WHERE dead_at IS NOT NULL),
                   (SELECT min(created_at) FROM {_outbox} WHERE dispatched_at IS NULL AND dead_at IS NULL)
            """);
        NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new OutboxCounts(
                reader.GetInt64(0),
                reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
        }
    }

    private async ValueTask<int> DeleteInChunksAsync(string sql, DateTimeOffset before, CancellationToken cancellationToken)
    {
        int deleted = 0;
        while (true)
        {
            using NpgsqlCommand command = _dataSource.CreateCommand(sql);
            command.Parameters.Add(Timestamp("before", before));
            int chunk = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            deleted += chunk;
            if (chunk < DeleteChunk)
            {
                return deleted;
            }
        }
    }
}
