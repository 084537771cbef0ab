using System.Data.Common;
using Switchboard.Outbox;

namespace Switchboard.EventSourcing;

/// <summary>
/// The event store in a relational database, written with ADO.NET: the SQLite and PostgreSQL stores differ only in their
/// statements, their connections and how they keep appends in commit order. Appends can join the caller's
/// <see cref="DbTransaction"/>, which is how <see cref="AggregateRepository{TAggregate}"/> writes the events and their outbox
/// rows in one transaction, and how a catch-up projection stores its checkpoint with its own writes.
/// </summary>
/// <remarks>
/// Tables: <c>{prefix}events</c> (position, stream id, version, type name, JSON body, recorded at; unique on stream id and
/// version) and <c>{prefix}checkpoints</c> (projection name, position). They are created on first use, in the caller's
/// transaction when the first use is one.
/// </remarks>
public abstract class RelationalEventStore : IEventStore, IAsyncDisposable
{
    private readonly AppendListeners _listeners = new();
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>Initializes a new instance of the <see cref="RelationalEventStore"/> class.</summary>
    /// <param name="types">The event types it stores.</param>
    /// <param name="timeProvider">The clock of <see cref="StoredEvent.RecordedAt"/>.</param>
    protected RelationalEventStore(EventTypes types, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Types = types;
        _time = timeProvider;
    }

    /// <inheritdoc />
    public EventTypes Types { get; }

    /// <summary>Gets the statements of the store's database.</summary>
    protected abstract EventStoreStatements Statements { get; }

    /// <summary>Opens a connection to the store's database, set up as the store's own are.</summary>
    /// <param name="cancellationToken">Cancels opening it.</param>
    /// <returns>An open connection; the caller disposes it.</returns>
    public abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default);

    /// <summary>Begins a transaction that appends (on SQLite it takes the write lock at once).</summary>
    /// <param name="connection">A connection from <see cref="OpenConnectionAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The transaction.</returns>
    public abstract ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns whether an outbox store writes to this store's database, so that an append and outbox rows can commit in one
    /// transaction.
    /// </summary>
    /// <param name="outboxStore">The bus's outbox store.</param>
    /// <returns><see langword="true"/> when they share the database.</returns>
    public abstract bool SharesDatabaseWith(IOutboxStore outboxStore);

    /// <summary>Creates the tables if they are missing; safe to call any number of times, from several processes.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the tables exist.</returns>
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await CreateSchemaAsync(cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (DbException ex) when (attempt < 3 && IsUniqueViolation(ex))
                {
                    // Another creator (an outbox store creating the same schema under its own lock) got there first: look again.
                }
            }

            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private async ValueTask CreateSchemaAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            DbTransaction transaction = await BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await ExecuteAsync(transaction, Statements.CreateSchema, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> AppendAsync(string streamId, long expectedVersion, IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken = default)
    {
        StreamIds.CheckAppend(streamId, expectedVersion, events);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            DbTransaction transaction = await BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            long version;
            await using (transaction.ConfigureAwait(false))
            {
                version = await AppendAsync(transaction, streamId, expectedVersion, events, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            NotifyAppended();
            return version;
        }
    }

    /// <summary>
    /// Appends events in the caller's transaction, if the stream's version is <paramref name="expectedVersion"/>: nothing is
    /// visible before that transaction commits, nothing is left if it rolls back. Call <see cref="NotifyAppended"/> after the
    /// commit to wake this process's catch-up projections at once.
    /// </summary>
    /// <param name="transaction">An open transaction on this store's database (from <see cref="BeginTransactionAsync"/>, or the application's own).</param>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the writer read (0 for a new stream).</param>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stream's new version (once committed).</returns>
    /// <exception cref="ConcurrencyException">The stream's version is not <paramref name="expectedVersion"/>.</exception>
    /// <exception cref="ArgumentException">An event's type is not registered.</exception>
    public async ValueTask<long> AppendAsync(DbTransaction transaction, string streamId, long expectedVersion, IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        StreamIds.CheckAppend(streamId, expectedVersion, events);
        DbConnection connection = transaction.Connection
            ?? throw new ArgumentException("The transaction is already committed or rolled back.", nameof(transaction));

        // Serialized first: an unregistered type fails before anything is written.
        (string Name, byte[] Body)[] written = new (string, byte[])[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            written[i] = Types.Write(streamId, expectedVersion + i + 1, events[i]);
        }

        await EnsureSchemaAsync(transaction, cancellationToken).ConfigureAwait(false);
        if (Statements.LockAppends is { } lockAppends)
        {
            await ExecuteAsync(transaction, lockAppends, cancellationToken).ConfigureAwait(false);
        }

        long actual;
        using (DbCommand current = Command(transaction, Statements.CurrentVersion))
        {
            Add(current, "@stream_id", streamId);
            actual = Convert.ToInt64(await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (actual != expectedVersion)
        {
            throw new ConcurrencyException(streamId, expectedVersion, actual);
        }

        if (written.Length == 0)
        {
            return actual;
        }

        using DbCommand insert = Command(transaction, Statements.Insert);
        Add(insert, "@stream_id", streamId);
        DbParameter version = Add(insert, "@version", 0L);
        DbParameter type = Add(insert, "@event_type", string.Empty);
        DbParameter body = Add(insert, "@body", Array.Empty<byte>());
        Add(insert, "@recorded_at", _time.GetUtcNow().ToUnixTimeMilliseconds());
        for (int i = 0; i < written.Length; i++)
        {
            version.Value = expectedVersion + i + 1;
            type.Value = written[i].Name;
            body.Value = written[i].Body;
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbException ex) when (IsUniqueViolation(ex))
            {
                // Only a writer that bypassed the append lock gets here (the version check above saw no conflict).
                throw new ConcurrencyException(
                    $"Stream '{streamId}' already has version {expectedVersion + i + 1}, expected version {expectedVersion}: another writer saved it concurrently. Nothing was written; reload the aggregate and retry.",
                    ex);
            }
        }

        return expectedVersion + written.Length;
    }

    /// <summary>Wakes this process's catch-up projections: call it after committing a transaction that appended events.</summary>
    public void NotifyAppended() => _listeners.Signal();

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoredEvent>> ReadStreamAsync(string streamId, long afterVersion = 0, CancellationToken cancellationToken = default)
    {
        StreamIds.Check(streamId);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using DbCommand command = connection.CreateCommand();
            command.CommandText = Statements.ReadStream;
            Add(command, "@stream_id", streamId);
            Add(command, "@after", afterVersion);
            return await ReadAsync(command, streamId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using DbCommand command = connection.CreateCommand();
            command.CommandText = Statements.ReadAll;
            Add(command, "@after", afterPosition);
            Add(command, "@max_count", (long)maxCount);
            return await ReadAsync(command, streamId: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> GetCheckpointAsync(string projection, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using DbCommand command = connection.CreateCommand();
            command.CommandText = Statements.GetCheckpoint;
            Add(command, "@name", projection);
            object? value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc />
    public async ValueTask SetCheckpointAsync(string projection, long position, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            DbTransaction transaction = await BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await SetCheckpointAsync(transaction, projection, position, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stores a projection's checkpoint in the caller's transaction: it commits with the projection's own writes.</summary>
    /// <param name="transaction">An open transaction on this store's database.</param>
    /// <param name="projection">The projection's name.</param>
    /// <param name="position">The position of the last event it processed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the row is written (not committed).</returns>
    public async ValueTask SetCheckpointAsync(DbTransaction transaction, string projection, long position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        await EnsureSchemaAsync(transaction, cancellationToken).ConfigureAwait(false);
        using DbCommand command = Command(transaction, Statements.SetCheckpoint);
        Add(command, "@name", projection);
        Add(command, "@position", position);
        Add(command, "@updated_at", _time.GetUtcNow().ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public IDisposable OnAppended(Action appended) => _listeners.Add(appended);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore().ConfigureAwait(false);
        _schemaGate.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the derived store owns (its data source).</summary>
    /// <returns>A task that completes when it is released.</returns>
    protected virtual ValueTask DisposeAsyncCore() => default;

    /// <summary>Returns whether an exception is the database's unique-constraint violation.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns><see langword="true"/> for a unique violation.</returns>
    protected abstract bool IsUniqueViolation(DbException exception);

    /// <summary>
    /// Before the schema is known to exist, a write in the caller's transaction creates it in that transaction (on SQLite
    /// another connection would wait for the write lock this one holds); it counts as ready only once committed on a
    /// connection of the store's own, since the caller's transaction may still roll back.
    /// </summary>
    private async ValueTask EnsureSchemaAsync(DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (!_schemaReady)
        {
            await ExecuteAsync(transaction, Statements.CreateSchema, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<IReadOnlyList<StoredEvent>> ReadAsync(DbCommand command, string? streamId, CancellationToken cancellationToken)
    {
        List<StoredEvent> events = [];
        DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Columns: position, stream_id, version, event_type, body, recorded_at.
                long position = reader.GetInt64(0);
                string stream = streamId ?? reader.GetString(1);
                long version = reader.GetInt64(2);
                string type = reader.GetString(3);
                byte[] body = reader.IsDBNull(4) ? [] : reader.GetFieldValue<byte[]>(4);
                DateTimeOffset recordedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5));
                events.Add(Types.Read(position, stream, version, type, body, recordedAt));
            }
        }

        return events;
    }

    private static async ValueTask ExecuteAsync(DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using DbCommand command = Command(transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DbCommand Command(DbTransaction transaction, string sql)
    {
        DbCommand command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
#pragma warning disable CA2100 // The statements are built from validated identifiers, never from input.
        command.CommandText = sql;
#pragma warning restore CA2100
        return command;
    }

    private static DbParameter Add(DbCommand command, string name, object value)
    {
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
