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
