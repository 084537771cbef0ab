using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Postgres;

/// <summary>
/// The outbox and inbox on PostgreSQL: rows written in the application's <see cref="NpgsqlTransaction"/> together with a
/// <c>NOTIFY</c> that PostgreSQL delivers only if and when that transaction commits, which wakes the dispatchers of every
/// process at once; batches claimed with <c>FOR UPDATE SKIP LOCKED</c> under a lease; inbox records inserted with
/// <c>ON CONFLICT DO NOTHING</c> in the handler's transaction.
/// </summary>
/// <remarks>
/// The tables are created by <see cref="EnsureSchemaAsync"/> (the bus calls it on start unless
/// <see cref="OutboxOptions.CreateSchema"/> is off); <see cref="GetSchemaScript"/> returns the same DDL for migrations.
/// </remarks>
public sealed partial class PostgresOutboxStore : IOutboxStore
{
    private const int DeleteChunk = 5_000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresOutboxStoreOptions _options;
    private readonly string _outbox;
    private readonly string _inbox;
    private readonly string _schemaTable;
    private readonly string _channel;
    private readonly string _insertOneSql;
    private readonly string _markDispatchedSql;
    private readonly long _claimLock;
    private readonly long _schemaLock;
    private readonly string _insertSql;
    private readonly string _claimSql;

    /// <summary>Initializes a new instance of the <see cref="PostgresOutboxStore"/> class.</summary>
    /// <param name="options">Where the tables are and how to reach the database; validated now.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PostgresOutboxStore(PostgresOutboxStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        if (options.DataSource is { } dataSource)
        {
            _dataSource = dataSource;
        }
        else
        {
            _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
            _ownsDataSource = true;
        }

        string schema = PostgresOutboxStoreOptions.Quote(options.Schema);
        _outbox = $"{schema}.{PostgresOutboxStoreOptions.Quote(options.TablePrefix + "outbox")}";
        _inbox = $"{schema}.{PostgresOutboxStoreOptions.Quote(options.TablePrefix + "inbox")}";
        _schemaTable = $"{schema}.{PostgresOutboxStoreOptions.Quote(options.TablePrefix + "schema")}";
        _channel = options.GetNotifyChannel();
        _claimLock = PostgresOutboxStoreOptions.LockKey($"switchboard-outbox-claim:{options.Schema}.{options.TablePrefix}outbox");
        _schemaLock = PostgresOutboxStoreOptions.LockKey($"switchboard-outbox-schema:{options.Schema}.{options.TablePrefix}outbox");

        _markDispatchedSql = $"UPDATE {_outbox} SET dispatched_at = @at, lease_owner = NULL, lease_until = NULL WHERE id = ANY(@ids) AND dispatched_at IS NULL";
        _insertOneSql = $"""
            INSERT INTO {_outbox} (message_id, destination, partition_key, headers, body, created_at, attempts)
            VALUES (@message_id, @destination, @partition_key, @headers, @body, @created_at, 0)
            """;
        _insertSql = $"""
            INSERT INTO {_outbox} (message_id, destination, partition_key, headers, body, created_at, attempts)
            SELECT m, d, k, h, b, @created_at, 0
            FROM unnest(@message_ids, @destinations, @partition_keys, @headers, @bodies) WITH ORDINALITY AS t(m, d, k, h, b, n)
            ORDER BY n
            """;

        // The advisory lock (taken by the statement before this one, in the same transaction) serializes claimers, so that
        // this statement's snapshot sees every lease committed before it: without it two claimers could each take a row
        // whose earlier same-key row the other is leasing at that moment.
        _claimSql = $"""
            UPDATE {_outbox} SET lease_owner = @owner, lease_until = @lease_until
            WHERE id IN (
                SELECT o.id FROM {_outbox} o
                WHERE o.dispatched_at IS NULL AND o.dead_at IS NULL
                  AND (o.lease_until IS NULL OR o.lease_until < @now)
                  AND (o.not_before IS NULL OR o.not_before <= @now)
                  AND (o.partition_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM {_outbox} e
                      WHERE e.partition_key = o.partition_key AND e.id < o.id
                        AND e.dispatched_at IS NULL AND e.dead_at IS NULL
                        AND (e.lease_until >= @now OR e.not_before > @now)))
                ORDER BY o.id
                LIMIT @batch_size
                FOR UPDATE SKIP LOCKED)
            RETURNING id, destination, partition_key, headers::text, body, created_at, attempts, last_error
            """;
    }

    /// <summary>Initializes a new instance of the <see cref="PostgresOutboxStore"/> class on a connection string, with the default tables.</summary>
    /// <param name="connectionString">The Npgsql connection string.</param>
    public PostgresOutboxStore(string connectionString)
        : this(new PostgresOutboxStoreOptions { ConnectionString = connectionString })
    {
    }

    /// <inheritdoc />
    public string Name => "postgres";

    /// <summary>Gets the data source the store uses (its own, or the caller's).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Gets the options.</summary>
    public PostgresOutboxStoreOptions Options => _options;

    /// <inheritdoc />
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await EnsureSchemaOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.DuplicateObject)
        {
            // Another component (an event store, a second store on other tables) created the same schema at the same moment
            // under its own lock: CREATE SCHEMA IF NOT EXISTS can then fail on the catalog. The schema exists now; once more.
            await EnsureSchemaOnceAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask EnsureSchemaOnceAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Several processes starting at once: one runs the DDL, the others wait, then find everything in place.
                using (NpgsqlCommand lockCommand = new("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
                {
                    lockCommand.Parameters.AddWithValue("key", _schemaLock);
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                bool schemaExists;
                using (NpgsqlCommand exists = new("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", connection, transaction))
                {
                    exists.Parameters.AddWithValue("schema", _options.Schema);
                    schemaExists = (bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists: only run it when needed.
                string script = (schemaExists ? string.Empty : $"CREATE SCHEMA IF NOT EXISTS {PostgresOutboxStoreOptions.Quote(_options.Schema)};\n") + GetSchemaScript();
                using (NpgsqlCommand ddl = new(script, connection, transaction))
                {
                    await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (NpgsqlCommand version = new($"SELECT max(version) FROM {_schemaTable}", connection, transaction))
                {
                    object? stored = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    if (stored is int v && v > OutboxSchema.Version)
                    {
                        throw new InvalidOperationException(
                            $"The outbox tables {_outbox} are at schema version {v}, newer than this version of Switchboard.Postgres understands ({OutboxSchema.Version}). Upgrade the package.");
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Returns the DDL that <see cref="EnsureSchemaAsync"/> runs (without the <c>CREATE SCHEMA</c>), for teams that create the
    /// tables with their own migrations: run it once per database, then turn <see cref="OutboxOptions.CreateSchema"/> off. Every
    /// statement is idempotent.
    /// </summary>
    /// <returns>The SQL script.</returns>
    public string GetSchemaScript()
    {
        string prefix = _options.TablePrefix;
        string pending = PostgresOutboxStoreOptions.Quote(prefix + "outbox_pending");
        string pendingKey = PostgresOutboxStoreOptions.Quote(prefix + "outbox_pending_key");
        string dispatched = PostgresOutboxStoreOptions.Quote(prefix + "outbox_dispatched");
        string dead = PostgresOutboxStoreOptions.Quote(prefix + "outbox_dead");
        string processed = PostgresOutboxStoreOptions.Quote(prefix + "inbox_processed");
        return $"""
            CREATE TABLE IF NOT EXISTS {_outbox} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                message_id text NOT NULL,
                destination text NOT NULL,
                partition_key text NULL,
                headers jsonb NOT NULL,
                body bytea NOT NULL,
                created_at timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                last_error text NULL,
                not_before timestamptz NULL,
                lease_owner text NULL,
                lease_until timestamptz NULL,
                dispatched_at timestamptz NULL,
                dead_at timestamptz NULL,
                dead_reason text NULL,
                dead_exception_type text NULL,
                dead_exception_details text NULL
            );
            CREATE INDEX IF NOT EXISTS {pending} ON {_outbox} (id) WHERE dispatched_at IS NULL AND dead_at IS NULL;
            CREATE INDEX IF NOT EXISTS {pendingKey} ON {_outbox} (partition_key, id) WHERE dispatched_at IS NULL AND dead_at IS NULL AND partition_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {dispatched} ON {_outbox} (dispatched_at) WHERE dispatched_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {dead} ON {_outbox} (id) WHERE dead_at IS NOT NULL;
            CREATE TABLE IF NOT EXISTS {_inbox} (
                consumer text NOT NULL,
                message_id text NOT NULL,
                processed_at timestamptz NOT NULL,
                PRIMARY KEY (consumer, message_id)
            );
            CREATE INDEX IF NOT EXISTS {processed} ON {_inbox} (processed_at);
            CREATE TABLE IF NOT EXISTS {_schemaTable} (
                version integer NOT NULL PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO {_schemaTable} (version) VALUES ({OutboxSchema.Version}) ON CONFLICT (version) DO NOTHING;
            """;
    }

    /// <inheritdoc />
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="transaction"/> is not an open <see cref="NpgsqlTransaction"/>.</exception>
    public async ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default)
    {
        NpgsqlTransaction npgsql = AsNpgsql(transaction);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return;
        }

        string[] messageIds = new string[messages.Count];
        string[] destinations = new string[messages.Count];
        string?[] partitionKeys = new string?[messages.Count];
        string[] headers = new string[messages.Count];
        byte[][] bodies = new byte[messages.Count][];
        for (int i = 0; i < messages.Count; i++)
        {
            TransportMessage message = messages[i] ?? throw new ArgumentException("The messages cannot contain null.", nameof(messages));
            messageIds[i] = message.MessageId;
            destinations[i] = message.Destination;
            partitionKeys[i] = message.PartitionKey;
            headers[i] = OutboxRows.SerializeHeaders(message.Headers);
            bodies[i] = message.Body.ToArray();
        }

        NpgsqlBatch batch = new(npgsql.Connection, npgsql);
        await using (batch.ConfigureAwait(false))
        {
            NpgsqlBatchCommand insert;
            if (messages.Count == 1)
            {
                // The common case, one message per call: plain parameters, no arrays to build and unnest.
                insert = new(_insertOneSql);
                insert.Parameters.Add(new NpgsqlParameter<string>("message_id", NpgsqlDbType.Text) { TypedValue = messageIds[0] });
                insert.Parameters.Add(new NpgsqlParameter<string>("destination", NpgsqlDbType.Text) { TypedValue = destinations[0] });
                insert.Parameters.Add(new NpgsqlParameter("partition_key", NpgsqlDbType.Text) { Value = (object?)partitionKeys[0] ?? DBNull.Value });
                insert.Parameters.Add(new NpgsqlParameter<string>("headers", NpgsqlDbType.Jsonb) { TypedValue = headers[0] });
                insert.Parameters.Add(new NpgsqlParameter<byte[]>("body", NpgsqlDbType.Bytea) { TypedValue = bodies[0] });
            }
            else
            {
                insert = new(_insertSql);
                insert.Parameters.Add(new NpgsqlParameter<string[]>("message_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = messageIds });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("destinations", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = destinations });
                insert.Parameters.Add(new NpgsqlParameter<string?[]>("partition_keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = partitionKeys });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("headers", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { TypedValue = headers });
                insert.Parameters.Add(new NpgsqlParameter<byte[][]>("bodies", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = bodies });
            }

            insert.Parameters.Add(Timestamp("created_at", _options.TimeProvider.GetUtcNow()));
            batch.BatchCommands.Add(insert);

            // Delivered to every listener if and when the transaction commits, never before, never after a rollback. Sent with
            // every call: Npgsql reuses its transaction objects, so "this transaction already notified" cannot be remembered
            // safely; PostgreSQL folds the identical notifications of one transaction into one.
            NpgsqlBatchCommand notify = new("SELECT pg_notify(@channel, '')");
            notify.Parameters.AddWithValue("channel", _channel);
            batch.BatchCommands.Add(notify);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(committed);
        Listener listener = new(this, committed);
        await listener.StartAsync(cancellationToken).ConfigureAwait(false);
        return listener;
    }

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

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="transaction"/> is not an open <see cref="NpgsqlTransaction"/>.</exception>
    public async ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
    {
        NpgsqlTransaction npgsql = AsNpgsql(transaction);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(messageId);

        // A concurrent transaction recording the same id holds the key: this insert waits for it, then conflicts if it committed.
        using NpgsqlCommand command = new(
            $"INSERT INTO {_inbox} (consumer, message_id, processed_at) VALUES (@consumer, @message_id, @processed_at) ON CONFLICT (consumer, message_id) DO NOTHING",
            npgsql.Connection,
            npgsql);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.AddWithValue("message_id", messageId);
        command.Parameters.Add(Timestamp("processed_at", processedAt));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Disposes the data source when the store created it; a caller's data source is left to the caller.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
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

    private static NpgsqlTransaction AsNpgsql(DbTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction is not NpgsqlTransaction npgsql)
        {
            throw new ArgumentException(
                $"The PostgreSQL outbox writes in an NpgsqlTransaction on a connection to its database; got a {transaction.GetType().FullName}.",
                nameof(transaction));
        }

        if (npgsql.Connection is null)
        {
            throw new ArgumentException("The transaction has already been committed or rolled back.", nameof(transaction));
        }

        return npgsql;
    }

    /// <summary>A <c>timestamptz</c> parameter: Npgsql writes only UTC offsets.</summary>
    private static NpgsqlParameter<DateTimeOffset> Timestamp(string name, DateTimeOffset value)
        => new(name, NpgsqlDbType.TimestampTz) { TypedValue = value.ToUniversalTime() };
}
