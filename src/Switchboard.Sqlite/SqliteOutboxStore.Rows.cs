using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Sqlite;

public sealed partial class SqliteOutboxStore
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(claim.Owner, nameof(claim));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(claim.BatchSize, nameof(claim));
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            SqliteTransaction transaction = BeginImmediate(connection);
            await using (transaction.ConfigureAwait(false))
            {
                List<OutboxMessage> rows = new(Math.Min(claim.BatchSize, 256));
                List<(long Id, int Attempts, string Error)>? unreadable = null;
                if (claim.Dispatched is { Count: > 0 } dispatched)
                {
                    // The previous batch's marks ride in this transaction: one commit less per batch.
                    using SqliteCommand mark = connection.CreateCommand();
                    mark.Transaction = transaction;
                    mark.CommandText = Sql.MarkDispatched;
                    mark.Parameters.AddWithValue("@ids", IdsJson(dispatched));
                    mark.Parameters.AddWithValue("@at", claim.Now.ToUnixTimeMilliseconds());
                    await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (SqliteCommand command = connection.CreateCommand())
                {
                    command.Transaction = transaction;
                    command.CommandText = Sql.Claim;
                    command.Parameters.AddWithValue("@owner", claim.Owner);
                    command.Parameters.AddWithValue("@until", claim.LeaseUntil.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("@now", claim.Now.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("@limit", claim.BatchSize);
                    SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            try
                            {
                                rows.Add(ReadRow(reader, dead: false));
                            }
                            catch (FormatException ex)
                            {
                                (unreadable ??= []).Add((reader.GetInt64(0), reader.GetInt32(6), ex.Message));
                            }
                        }
                    }
                }

                if (unreadable is not null)
                {
                    // A row edited by hand into something unreadable is parked with the reason, rather than failing every claim.
                    await ParkUnreadableAsync(connection, transaction, unreadable, claim.Now, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

                // RETURNING gives no order: the contract is id order.
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

        await ExecuteAsync(Sql.MarkDispatched, cancellationToken, ("@ids", IdsJson(ids)), ("@at", dispatchedAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
    }

    /// <summary>One statement for a batch: the ids travel as a JSON array (<c>json_each</c>), however many there are.</summary>
    private static string IdsJson(IReadOnlyList<long> ids)
    {
        StringBuilder json = new(ids.Count * 8);
        json.Append('[');
        for (int i = 0; i < ids.Count; i++)
        {
            json.Append(i == 0 ? string.Empty : ",").Append(ids[i].ToString(CultureInfo.InvariantCulture));
        }

        return json.Append(']').ToString();
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
        => await ExecuteAsync(Sql.Release, cancellationToken, ("@id", id), ("@failure", failure), ("@not_before", notBefore?.ToUnixTimeMilliseconds())).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        await ExecuteAsync(
            Sql.MarkDead,
            cancellationToken,
            ("@id", id),
            ("@at", deadAt.ToUnixTimeMilliseconds()),
            ("@reason", reason.Reason),
            ("@type", reason.ExceptionType),
            ("@details", reason.ExceptionDetails),
            ("@attempts", reason.Attempts)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = Sql.ListDead;
            command.Parameters.AddWithValue("@limit", count);
            List<OutboxMessage> rows = [];
            SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(ReadRow(reader, dead: true));
                }
            }

            return rows;
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default)
        => await ExecuteAsync(Sql.ReviveDead, cancellationToken, ("@id", id)).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default)
        => await ExecuteAsync(Sql.DeleteDead, cancellationToken, ("@id", id)).ConfigureAwait(false) > 0;

    /// <summary>
    /// Deletes dispatched rows and inbox records past their limits, <see cref="SqliteOutboxStoreOptions.CleanupChunkSize"/>
    /// rows per statement, each statement its own short transaction: the application's writers get the lock between chunks.
    /// </summary>
    /// <param name="dispatchedBefore">The retention limit of dispatched rows.</param>
    /// <param name="processedBefore">The end of the inbox's deduplication window.</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    /// <returns>How many rows were deleted in all.</returns>
    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            int deleted = await DeleteInChunksAsync(connection, Sql.DeleteDispatched, dispatchedBefore, cancellationToken).ConfigureAwait(false);
            deleted += await DeleteInChunksAsync(connection, Sql.DeleteProcessed, processedBefore, cancellationToken).ConfigureAwait(false);
            return deleted;
        }
    }

    /// <inheritdoc />
    public async ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = Sql.Count;
            SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return new OutboxCounts(
                    reader.GetInt64(0),
                    reader.GetInt64(1),
                    reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
            }
        }
    }

    private async Task ParkUnreadableAsync(SqliteConnection connection, SqliteTransaction transaction, List<(long Id, int Attempts, string Error)> rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Sql.MarkDead;
        SqliteParameter id = command.Parameters.Add("@id", SqliteType.Integer);
        SqliteParameter reason = command.Parameters.Add("@reason", SqliteType.Text);
        SqliteParameter attempts = command.Parameters.Add("@attempts", SqliteType.Integer);
        command.Parameters.AddWithValue("@at", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("@type", typeof(FormatException).FullName);
        command.Parameters.AddWithValue("@details", DBNull.Value);
        foreach ((long rowId, int rowAttempts, string error) in rows)
        {
            id.Value = rowId;
            reason.Value = error;
            attempts.Value = rowAttempts + 1;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<int> DeleteInChunksAsync(SqliteConnection connection, string sql, DateTimeOffset before, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@before", before.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("@limit", _options.CleanupChunkSize);
        int total = 0;
        while (true)
        {
            int deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < _options.CleanupChunkSize || cancellationToken.IsCancellationRequested)
            {
                return total;
            }

            // Let a waiting writer in before the next chunk.
            await Task.Yield();
        }
    }

    /// <summary>Runs one statement in its own (autocommit) transaction and returns how many rows it changed.</summary>
    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            foreach ((string name, object? value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the columns of <c>RowColumns</c> (and, for a dead row, the dead columns after them).</summary>
    private static OutboxMessage ReadRow(SqliteDataReader reader, bool dead)
    {
        int attempts = reader.GetInt32(6);
        return new OutboxMessage
        {
            Id = reader.GetInt64(0),
            Message = new TransportMessage
            {
                Destination = reader.GetString(1),
                PartitionKey = reader.IsDBNull(2) ? null : reader.GetString(2),
                Headers = dead ? ReadHeadersLeniently(reader.GetString(3)) : OutboxRows.DeserializeHeaders(reader.GetString(3)),
                Body = reader.IsDBNull(4) ? ReadOnlyMemory<byte>.Empty : (byte[])reader.GetValue(4),
            },
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            Attempts = attempts,
            LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
            DeadAt = dead && !reader.IsDBNull(8) ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)) : null,
            DeadReason = dead
                ? new DeadLetterReason(
                    reader.IsDBNull(9) ? "Unknown" : reader.GetString(9),
                    reader.IsDBNull(10) ? null : reader.GetString(10),
                    reader.IsDBNull(11) ? null : reader.GetString(11),
                    attempts)
                : null,
        };
    }

    /// <summary>A dead row may be dead because its headers are unreadable: list it anyway (with none), so that it can be seen and deleted.</summary>
    private static IReadOnlyDictionary<string, string> ReadHeadersLeniently(string json)
    {
        try
        {
            return OutboxRows.DeserializeHeaders(json);
        }
        catch (FormatException)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }
}
