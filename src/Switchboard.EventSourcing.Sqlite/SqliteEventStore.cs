using System.Data.Common;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox;
using Switchboard.Sqlite;

namespace Switchboard.EventSourcing.Sqlite;

/// <summary>
/// The event store in a SQLite database: <c>{prefix}events</c> (an <c>AUTOINCREMENT</c> position, unique stream id and
/// version) and <c>{prefix}checkpoints</c>. SQLite has one writer at a time and appends take the write lock at once
/// (<c>BEGIN IMMEDIATE</c>), so positions are committed in order and the expected-version check is exact.
/// </summary>
/// <remarks>
/// Connections are opened by the SQLite outbox package's connection handling (WAL, <c>busy_timeout</c>, <c>synchronous</c>,
/// command timeout), so the store and an outbox on the same file behave alike.
/// </remarks>
public sealed class SqliteEventStore : RelationalEventStore
{
    private readonly SqliteOutboxStore _connections;
    private readonly string _identity;

    /// <summary>Initializes a new instance of the <see cref="SqliteEventStore"/> class.</summary>
    /// <param name="options">The database and the tables; validated now.</param>
    /// <param name="types">The event types it stores; a new empty list when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public SqliteEventStore(SqliteEventStoreOptions options, EventTypes? types = null)
        : base(types ?? new EventTypes(), (options ?? throw new ArgumentNullException(nameof(options))).TimeProvider)
    {
        options.Validate();
        Options = options;
        _connections = new SqliteOutboxStore(new SqliteOutboxStoreOptions
        {
            ConnectionString = options.ConnectionString,
            BusyTimeout = options.BusyTimeout,
            Synchronous = options.Synchronous,
        });
        _identity = Identity(options.ConnectionString);
        string events = options.TablePrefix + "events";
        string checkpoints = options.TablePrefix + "checkpoints";
        const string Columns = "position, stream_id, version, event_type, body, recorded_at";
        Statements = new EventStoreStatements
        {
            CreateSchema = $"""
                CREATE TABLE IF NOT EXISTS {events} (
                    position INTEGER PRIMARY KEY AUTOINCREMENT,
                    stream_id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    event_type TEXT NOT NULL,
                    body BLOB NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    UNIQUE (stream_id, version));
                CREATE TABLE IF NOT EXISTS {checkpoints} (
                    name TEXT NOT NULL PRIMARY KEY,
                    position INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL);
                """,
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

    /// <summary>Initializes a new instance of the <see cref="SqliteEventStore"/> class on a connection string, with the default tables.</summary>
    /// <param name="connectionString">The Microsoft.Data.Sqlite connection string of a database file.</param>
    /// <param name="types">The event types it stores.</param>
    public SqliteEventStore(string connectionString, EventTypes? types = null)
        : this(new SqliteEventStoreOptions { ConnectionString = connectionString }, types)
    {
    }

    /// <summary>Gets the options.</summary>
    public SqliteEventStoreOptions Options { get; }

    /// <inheritdoc />
    protected override EventStoreStatements Statements { get; }

    /// <inheritdoc />
    public override ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => _connections.OpenConnectionAsync(cancellationToken);

    /// <summary>Begins a transaction with <c>BEGIN IMMEDIATE</c>: it holds the write lock from the start.</summary>
    /// <param name="connection">A <see cref="SqliteConnection"/> to the store's database.</param>
    /// <param name="cancellationToken">Not used.</param>
    /// <returns>The transaction.</returns>
    public override ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection is not SqliteConnection sqlite)
        {
            throw new ArgumentException($"SqliteEventStore needs a SqliteConnection; got {connection.GetType().FullName}.", nameof(connection));
        }

        return ValueTask.FromResult<DbTransaction>(sqlite.BeginTransaction(deferred: false));
    }

    /// <summary>Returns whether the outbox store is a <see cref="SqliteOutboxStore"/> on this store's database file.</summary>
    /// <param name="outboxStore">The bus's outbox store.</param>
    /// <returns><see langword="true"/> when both write to the same file.</returns>
    public override bool SharesDatabaseWith(IOutboxStore outboxStore)
        => outboxStore is SqliteOutboxStore sqlite
           && string.Equals(Identity(sqlite.Options.ConnectionString), _identity, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception)
        => exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await _connections.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    /// <summary>The database a connection string names: the full path of its file, or the name of a shared in-memory database.</summary>
    private static string Identity(string connectionString)
    {
        SqliteConnectionStringBuilder builder = new(connectionString);
        return builder.Mode == SqliteOpenMode.Memory || builder.DataSource.Length == 0 || builder.DataSource == ":memory:"
            ? "memory:" + builder.DataSource
            : Path.GetFullPath(builder.DataSource);
    }
}
