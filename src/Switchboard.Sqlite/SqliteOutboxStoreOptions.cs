using System.Text.RegularExpressions;

namespace Switchboard.Sqlite;

/// <summary>Where a <see cref="SqliteOutboxStore"/> keeps its tables and how its connections behave.</summary>
public sealed partial class SqliteOutboxStoreOptions
{
    /// <summary>
    /// Gets or sets the Microsoft.Data.Sqlite connection string, for example <c>Data Source=app.db</c>. It must name a file
    /// (or a shared in-memory database, <c>Data Source=name;Mode=Memory;Cache=Shared</c>, for tests): a plain
    /// <c>:memory:</c> database belongs to one connection, and the dispatcher and the inbox open connections of their own.
    /// </summary>
    public required string ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets the prefix of the table names: <c>{prefix}outbox</c>, <c>{prefix}inbox</c> and <c>{prefix}schema</c>.
    /// Letters, digits and underscores, at most 40 characters.
    /// </summary>
    /// <value>The default value is <c>switchboard_</c>.</value>
    public string TablePrefix { get; set; } = "switchboard_";

    /// <summary>
    /// Gets or sets how long a statement waits for another connection's write lock (<c>PRAGMA busy_timeout</c>) before it
    /// fails with <c>SQLITE_BUSY</c>. SQLite has one writer at a time: the dispatcher's claims and the application's
    /// transactions take turns. Unless the connection string sets <c>Default Timeout</c>, the store's connections also take
    /// their command timeout from it (whole seconds, at least one): Microsoft.Data.Sqlite retries a busy statement until then.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets <c>PRAGMA synchronous</c> on the store's connections (the dispatcher's, the inbox's, and those of
    /// <see cref="SqliteOutboxStore.OpenConnectionAsync"/>). With <see cref="SqliteSynchronousMode.Full"/> a committed
    /// transaction survives a process crash and a power loss; <see cref="SqliteSynchronousMode.Normal"/> (WAL) survives a
    /// process crash but may lose the last transactions on a power loss or an operating system crash.
    /// </summary>
    /// <value>The default value is <see cref="SqliteSynchronousMode.Full"/>.</value>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// Gets or sets how many rows one cleanup statement deletes: cleanup runs in chunks, each its own short transaction, so
    /// that a large backlog of dispatched rows never holds the write lock for long.
    /// </summary>
    /// <value>The default value is 1,000.</value>
    public int CleanupChunkSize { get; set; } = 1_000;

    /// <summary>Gets or sets the clock of the rows' <c>created_at</c> column.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the options; the message never contains the connection string.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SqliteOutboxStoreOptions.ConnectionString is required.");
        }

        if (TablePrefix is null || TablePrefix.Length > 40 || (TablePrefix.Length > 0 && !Prefix().IsMatch(TablePrefix)))
        {
            throw new ArgumentException($"SqliteOutboxStoreOptions.TablePrefix '{TablePrefix}' must be at most 40 letters, digits or underscores, not starting with a digit.");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentException("SqliteOutboxStoreOptions.BusyTimeout must be between zero and 24 days.");
        }

        if (CleanupChunkSize < 1)
        {
            throw new ArgumentException("SqliteOutboxStoreOptions.CleanupChunkSize must be at least 1.");
        }

        if (!Enum.IsDefined(Synchronous))
        {
            throw new ArgumentException($"SqliteOutboxStoreOptions.Synchronous '{Synchronous}' is not a known mode.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Prefix();
}

/// <summary>The values of <c>PRAGMA synchronous</c> the store supports.</summary>
public enum SqliteSynchronousMode
{
    /// <summary><c>FULL</c>: a commit is on disk when it returns; it survives a power loss.</summary>
    Full,

    /// <summary><c>NORMAL</c>: in WAL mode a commit survives a process crash, but not necessarily a power loss.</summary>
    Normal,
}
