using System.Data.Common;
using System.Globalization;
using Npgsql;
using Switchboard.Outbox;
using Switchboard.Postgres;

namespace Switchboard.EventSourcing.Postgres;

/// <summary>
/// The event store in PostgreSQL: <c>{schema}.{prefix}events</c> (an identity position, unique stream id and version) and
/// <c>{schema}.{prefix}checkpoints</c>.
/// </summary>
/// <remarks>
/// Every append first takes a transaction-scoped advisory lock, held until its commit: appends to the store commit one at a
/// time, so positions become visible in increasing order and a catch-up reader never passes a position that a slower
/// transaction fills in later. The price is that appends do not run in parallel (other work in their transactions does,
/// until the append).
/// </remarks>
public sealed class PostgresEventStore : RelationalEventStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;

    /// <summary>Initializes a new instance of the <see cref="PostgresEventStore"/> class.</summary>
    /// <param name="options">Where the tables are and how to reach the database; validated now.</param>
    /// <param name="types">The event types it stores; a new empty list when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PostgresEventStore(PostgresEventStoreOptions options, EventTypes? types = null)
        : base(types ?? new EventTypes(), (options ?? throw new ArgumentNullException(nameof(options))).TimeProvider)
    {
        options.Validate();
        Options = options;
        if (options.DataSource is { } dataSource)
        {
            _dataSource = dataSource;
        }
        else
        {
            _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
            _ownsDataSource = true;
        }

        string schema = Quote(options.Schema);
        string events = $"{schema}.{Quote(options.TablePrefix + "events")}";
        string checkpoints = $"{schema}.{Quote(options.TablePrefix + "checkpoints")}";
        long schemaLock = PostgresEventStoreOptions.LockKey($"switchboard-events-schema:{options.Schema}.{options.TablePrefix}");
        long appendLock = PostgresEventStoreOptions.LockKey($"switchboard-events-append:{options.Schema}.{options.TablePrefix}");
        const string Columns = "position, stream_id, version, event_type, body, recorded_at";
        Statements = new EventStoreStatements
        {
            CreateSchema = string.Create(CultureInfo.InvariantCulture, $"""
                SELECT pg_advisory_xact_lock({schemaLock});
                DO $sb$ BEGIN CREATE SCHEMA IF NOT EXISTS {schema}; EXCEPTION WHEN unique_violation OR duplicate_schema THEN NULL; END $sb$;
                CREATE TABLE IF NOT EXISTS {events} (
                    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    stream_id text NOT NULL,
                    version bigint NOT NULL,
                    event_type text NOT NULL,
                    body bytea NOT NULL,
                    recorded_at bigint NOT NULL,
                    UNIQUE (stream_id, version));
                CREATE TABLE IF NOT EXISTS {checkpoints} (
                    name text NOT NULL PRIMARY KEY,
                    position bigint NOT NULL,
                    updated_at bigint NOT NULL);
                """),
            LockAppends = string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock({appendLock})"),
            CurrentVersion = $"SELECT COALESCE(MAX(version), 0) FROM {events} WHERE stream_id = @stream_id",
            Insert = $"INSERT INTO {events} (stream_id, version, event_type, body, recorded_at) VALUES (@stream_id, @version, @event_type, @body, @recorded_at)",
            ReadStream = $"SELECT {Columns} FROM {events} WHERE stream_id = @stream_id AND version > @after ORDER BY version",
            ReadAll = $"SELECT {Columns} FROM {events} WHERE position > @after ORDER BY position LIMIT @max_count",
            GetCheckpoint = $"SELECT position FROM {checkpoints} WHERE name = @name",
            SetCheckpoint = $"""
                INSERT INTO {checkpoints} (name, position, updated_at) VALUES (@name, @position, @updated_at)
                ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """,
        };
    }

    /// <summary>Initializes a new instance of the <see cref="PostgresEventStore"/> class on a connection string, with the default tables.</summary>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="types">The event types it stores.</param>
    public PostgresEventStore(string connectionString, EventTypes? types = null)
        : this(new PostgresEventStoreOptions { ConnectionString = connectionString }, types)
    {
    }

    /// <summary>Gets the options.</summary>
    public PostgresEventStoreOptions Options { get; }

    /// <summary>Gets the data source the store uses (its own, or the caller's).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <inheritdoc />
    protected override EventStoreStatements Statements { get; }

    /// <inheritdoc />
    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override async ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns whether the outbox store is a <see cref="PostgresOutboxStore"/> on the same server and database.</summary>
    /// <param name="outboxStore">The bus's outbox store.</param>
    /// <returns><see langword="true"/> when both write to the same database.</returns>
    public override bool SharesDatabaseWith(IOutboxStore outboxStore)
    {
        if (outboxStore is not PostgresOutboxStore postgres)
        {
            return false;
        }

        NpgsqlConnectionStringBuilder ours = new(_dataSource.ConnectionString);
        NpgsqlConnectionStringBuilder theirs = new(postgres.DataSource.ConnectionString);
        return string.Equals(ours.Host, theirs.Host, StringComparison.OrdinalIgnoreCase)
            && ours.Port == theirs.Port
            && string.Equals(ours.Database ?? ours.Username, theirs.Database ?? theirs.Username, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception)
        => exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
