using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Sqlite;

/// <summary>
/// The outbox and inbox in a SQLite database (Microsoft.Data.Sqlite): rows written in the application's
/// <see cref="SqliteTransaction"/>, claimed by dispatchers under a lease in <c>BEGIN IMMEDIATE</c> transactions, and a commit
/// hook that wakes this process's dispatcher the moment a transaction with outbox rows commits.
/// </summary>
/// <remarks>
/// <para>
/// Tables (see <see cref="EnsureSchemaAsync"/> for the DDL): <c>{prefix}outbox</c>, <c>{prefix}inbox</c> and
/// <c>{prefix}schema</c>, whose one row holds <see cref="OutboxSchema.Version"/>. Every connection the store opens runs in WAL
/// journal mode with <c>busy_timeout</c> and the configured <c>synchronous</c> level.
/// </para>
/// <para>
/// SQLite has one writer at a time; other processes' commits are not announced (SQLite cannot tell), so dispatchers in
/// other processes find them by polling (<see cref="OutboxOptions.PollInterval"/>).
/// </para>
/// </remarks>
public sealed partial class SqliteOutboxStore : IOutboxStore
{
    private readonly SqliteOutboxStoreOptions _options;
    private readonly SqliteListeners _listeners = new();
    private readonly string _pragmas;
    private readonly string _connectionString;
    private string? _databasePath;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="SqliteOutboxStore"/> class.</summary>
    /// <param name="options">The database and the tables; validated now.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public SqliteOutboxStore(SqliteOutboxStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _pragmas = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(options.Synchronous == SqliteSynchronousMode.Full ? "FULL" : "NORMAL")};");
        Sql = new Statements(options.TablePrefix);
        _connectionString = WithCommandTimeout(options.ConnectionString, options.BusyTimeout);
    }

    /// <summary>Initializes a new instance of the <see cref="SqliteOutboxStore"/> class on a connection string, with the default tables.</summary>
    /// <param name="connectionString">The Microsoft.Data.Sqlite connection string of a database file.</param>
    public SqliteOutboxStore(string connectionString)
        : this(new SqliteOutboxStoreOptions { ConnectionString = connectionString })
    {
    }

    /// <inheritdoc />
    public string Name => "sqlite";

    /// <summary>Gets the store's options.</summary>
    public SqliteOutboxStoreOptions Options => _options;

    /// <summary>Gets the claim statement (tests read its query plan).</summary>
    internal string ClaimSql => Sql.Claim;

    private Statements Sql { get; }

    /// <summary>
    /// Opens a new connection to the store's database with the store's pragmas (WAL, <c>busy_timeout</c>, <c>synchronous</c>).
    /// Use it (or any <see cref="SqliteConnection"/> to the same file) for the application's transactions.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening it.</param>
    /// <returns>An open <see cref="SqliteConnection"/>; the caller disposes it.</returns>
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => await OpenAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Adds messages in the caller's transaction, which must be a <see cref="SqliteTransaction"/> on a connection to this
    /// store's database, and arms the connection's commit hook: this process's dispatchers wake when it commits.
    /// </summary>
    /// <param name="transaction">The application's open transaction.</param>
    /// <param name="messages">The encoded messages.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the rows are written (not committed).</returns>
    /// <exception cref="ArgumentException">The transaction is not a SQLite transaction on this store's database.</exception>
    public async ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        SqliteTransaction sqlite = await CheckTransactionAsync(transaction, nameof(AddAsync), cancellationToken).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return;
        }

        SqliteConnection connection = sqlite.Connection!;
        long createdAt = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        using SqliteCommand insert = connection.CreateCommand();
        insert.Transaction = sqlite;
        insert.CommandText = Sql.Insert;
        SqliteParameter messageId = insert.Parameters.Add("@message_id", SqliteType.Text);
        SqliteParameter destination = insert.Parameters.Add("@destination", SqliteType.Text);
        SqliteParameter partitionKey = insert.Parameters.Add("@partition_key", SqliteType.Text);
        SqliteParameter headers = insert.Parameters.Add("@headers", SqliteType.Text);
        SqliteParameter body = insert.Parameters.Add("@body", SqliteType.Blob);
        insert.Parameters.AddWithValue("@created_at", createdAt);
        if (messages.Count > 1)
        {
            insert.Prepare();
        }

        foreach (TransportMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            messageId.Value = message.MessageId;
            destination.Value = message.Destination;
            partitionKey.Value = (object?)message.PartitionKey ?? DBNull.Value;
            headers.Value = OutboxRows.SerializeHeaders(message.Headers);
            body.Value = message.Body.ToArray();
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        SqliteCommitHook.Arm(sqlite, _listeners);
    }

    /// <summary>
    /// Calls <paramref name="committed"/> when a transaction of this process that added rows through this store commits (a
    /// commit hook). Commits in other processes are not announced: SQLite cannot tell; polling finds them.
    /// </summary>
    /// <param name="committed">Called on the committing thread, inside SQLite's commit: it must only signal.</param>
    /// <param name="cancellationToken">Not used.</param>
    /// <returns>Dispose it to stop listening.</returns>
    public ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(committed);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return ValueTask.FromResult(_listeners.Add(committed));
    }

    /// <summary>
    /// Records in the caller's transaction (a <see cref="SqliteTransaction"/> on this database) that the consumer processed
    /// the message: <c>INSERT OR IGNORE</c> into the inbox table.
    /// </summary>
    /// <param name="transaction">The handler's unit of work.</param>
    /// <param name="consumer">The consumer's name.</param>
    /// <param name="messageId">The message id.</param>
    /// <param name="processedAt">When.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the record was inserted (the first time).</returns>
    public async ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(messageId);
        SqliteTransaction sqlite = await CheckTransactionAsync(transaction, nameof(TryRecordProcessedAsync), cancellationToken).ConfigureAwait(false);
        using SqliteCommand command = sqlite.Connection!.CreateCommand();
        command.Transaction = sqlite;
        command.CommandText = Sql.RecordProcessed;
        command.Parameters.AddWithValue("@consumer", consumer);
        command.Parameters.AddWithValue("@message_id", messageId);
        command.Parameters.AddWithValue("@processed_at", processedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listeners.Clear();
        }

        return default;
    }

    /// <summary>Opens a connection with the store's pragmas.</summary>
    internal async ValueTask<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        SqliteConnection connection = new(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using (SqliteCommand pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = _pragmas;
                await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            _databasePath ??= DatabaseIdentity(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The transaction must be SQLite's, open, and on this store's database: rows written elsewhere would never commit with the caller's data.</summary>
    private async ValueTask<SqliteTransaction> CheckTransactionAsync(DbTransaction transaction, string operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (transaction is not SqliteTransaction { Connection: { } connection } sqlite)
        {
            throw new ArgumentException(
                $"SqliteOutboxStore.{operation} needs a Microsoft.Data.Sqlite SqliteTransaction on an open connection to the outbox's database; got {transaction.GetType().FullName}" +
                (transaction is SqliteTransaction ? " that is already committed or rolled back." : ". Begin the transaction on a SqliteConnection (for example from IOutboxStore.OpenConnectionAsync)."),
                nameof(transaction));
        }

        if (_databasePath is null)
        {
            // The store's own path is known after its first connection: open one (from the pool, cheap) to learn it.
            SqliteConnection probe = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await probe.DisposeAsync().ConfigureAwait(false);
        }

        string path = DatabaseIdentity(connection);
        if (!string.Equals(path, _databasePath, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"SqliteOutboxStore.{operation}: the transaction's connection is to the database '{path}', the outbox's is '{_databasePath}'. " +
                "Write the outbox rows in a transaction on the outbox's own database, so that they commit with the data.",
                nameof(transaction));
        }

        return sqlite;
    }

    /// <summary>The database a connection is on: the main file's full path, or for an in-memory database its name.</summary>
    private static string DatabaseIdentity(SqliteConnection connection)
    {
        string path = connection.DataSource;
        if (path.Length > 0)
        {
            return path;
        }

        // In memory (or temporary): the name in the connection string is what connections share.
        string name = new SqliteConnectionStringBuilder(connection.ConnectionString).DataSource;
        return "memory:" + name;
    }

    /// <summary>
    /// Microsoft.Data.Sqlite retries a busy statement on its own until the command timeout (<c>Default Timeout</c>, 30 s unless
    /// set): without a timeout in the connection string, the store's connections take theirs from <see cref="SqliteOutboxStoreOptions.BusyTimeout"/>
    /// (rounded up to whole seconds), so that the busy timeout is what a statement really waits.
    /// </summary>
    private static string WithCommandTimeout(string connectionString, TimeSpan busyTimeout)
    {
        SqliteConnectionStringBuilder builder = new(connectionString);
        DbConnectionStringBuilder given = new() { ConnectionString = connectionString };
        if (given.ContainsKey("Default Timeout") || given.ContainsKey("Command Timeout") || given.ContainsKey("DefaultTimeout"))
        {
            return connectionString;
        }

        builder.DefaultTimeout = (int)Math.Max(1, Math.Ceiling(busyTimeout.TotalSeconds));
        return builder.ToString();
    }

    /// <summary>BEGIN IMMEDIATE: the write lock is taken now, so a claim waits for a commit in progress and then sees its rows.</summary>
    private static SqliteTransaction BeginImmediate(SqliteConnection connection) => connection.BeginTransaction(deferred: false);
}
