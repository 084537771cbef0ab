using Npgsql;
using NpgsqlTypes;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Postgres;

public sealed partial class PostgresOutboxStore
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(claim.BatchSize);
        ArgumentException.ThrowIfNullOrEmpty(claim.Owner);
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (NpgsqlCommand lockCommand = new("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
                {
                    lockCommand.Parameters.AddWithValue("key", _claimLock);
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                if (claim.Dispatched is { Count: > 0 } dispatched)
                {
                    // The previous batch's marks ride in this transaction: one commit less per batch.
                    using NpgsqlCommand mark = new(_markDispatchedSql, connection, transaction);
                    mark.Parameters.Add(Timestamp("at", claim.Now));
                    mark.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. dispatched] });
                    await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                List<OutboxMessage> rows = [];
                List<(long Id, string Error)>? unreadable = null;
                using (NpgsqlCommand command = new(_claimSql, connection, transaction))
                {
                    command.Parameters.AddWithValue("owner", claim.Owner);
                    command.Parameters.Add(Timestamp("lease_until", claim.LeaseUntil));
                    command.Parameters.Add(Timestamp("now", claim.Now));
                    command.Parameters.AddWithValue("batch_size", claim.BatchSize);
                    NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            long id = reader.GetInt64(0);
                            IReadOnlyDictionary<string, string> headers;
                            try
                            {
                                headers = OutboxRows.DeserializeHeaders(reader.GetString(3));
                            }
                            catch (FormatException ex)
                            {
                                (unreadable ??= []).Add((id, ex.Message));
                                continue;
                            }

                            rows.Add(new OutboxMessage
                            {
                                Id = id,
                                Message = new TransportMessage
                                {
                                    Destination = reader.GetString(1),
                                    PartitionKey = reader.IsDBNull(2) ? null : reader.GetString(2),
                                    Headers = headers,
                                    Body = reader.GetFieldValue<byte[]>(4),
                                },
                                CreatedAt = reader.GetFieldValue<DateTimeOffset>(5),
                                Attempts = reader.GetInt32(6),
                                LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
                            });
                        }
                    }
                }

                // A row that cannot be read can never be dispatched: park it with the reason instead of failing every claim.
                foreach ((long id, string error) in unreadable ?? [])
                {
                    using NpgsqlCommand dead = new(
                        $"""
                        UPDATE {_outbox} SET dead_at = @now, dead_reason = @reason, dead_exception_type = @type, last_error = @reason,
                            lease_owner = NULL, lease_until = NULL
                        WHERE id = @id
                        """,
                        connection,
                        transaction);
                    dead.Parameters.AddWithValue("id", id);
                    dead.Parameters.Add(Timestamp("now", claim.Now));
                    dead.Parameters.AddWithValue("reason", "The outbox row cannot be read: " + error);
                    dead.Parameters.AddWithValue("type", typeof(FormatException).FullName!);
                    await dead.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
                return rows;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return;
        }

        using NpgsqlCommand command = _dataSource.CreateCommand(_markDispatchedSql);
        command.Parameters.Add(Timestamp("at", dispatchedAt));
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. ids] });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
    {
        using NpgsqlCommand command = _dataSource.CreateCommand(
            $"""
            UPDATE {_outbox} SET lease_owner = NULL, lease_until = NULL, not_before = @not_before,
                attempts = attempts + CASE WHEN @failure::text IS NULL THEN 0 ELSE 1 END,
                last_error = COALESCE(@failure::text, last_error)
            WHERE id = @id
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.Add(new NpgsqlParameter("failure", NpgsqlDbType.Text) { Value = (object?)failure ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("not_before", NpgsqlDbType.TimestampTz) { Value = notBefore is { } at ? at.ToUniversalTime() : DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        using NpgsqlCommand command = _dataSource.CreateCommand(
            $"""
            UPDATE {_outbox} SET dead_at = @dead_at, dead_reason = @reason, dead_exception_type = @type, dead_exception_details = @details,
                attempts = @attempts, last_error = @reason, lease_owner = NULL, lease_until = NULL, not_before = NULL
            WHERE id = @id AND dispatched_at IS NULL
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.Add(Timestamp("dead_at", deadAt));
        command.Parameters.AddWithValue("reason", reason.Reason);
        command.Parameters.Add(new NpgsqlParameter("type", NpgsqlDbType.Text) { Value = (object?)reason.ExceptionType ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Text) { Value = (object?)reason.ExceptionDetails ?? DBNull.Value });
        command.Parameters.AddWithValue("attempts", reason.Attempts);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
