using System.Text.RegularExpressions;
using Switchboard.Sqlite;

namespace Switchboard.EventSourcing.Sqlite;

/// <summary>Where a <see cref="SqliteEventStore"/> keeps its tables and how its connections behave.</summary>
public sealed partial class SqliteEventStoreOptions
{
    /// <summary>
    /// Gets or sets the Microsoft.Data.Sqlite connection string of the database file, for example <c>Data Source=app.db</c>:
    /// the outbox's database, for saves that publish through the outbox in the same transaction.
    /// </summary>
    public required string ConnectionString { get; set; }

    /// <summary>Gets or sets the prefix of the table names <c>{prefix}events</c> and <c>{prefix}checkpoints</c>.</summary>
    /// <value>The default value is <c>switchboard_</c>.</value>
    public string TablePrefix { get; set; } = "switchboard_";

    /// <summary>Gets or sets how long a statement waits for another connection's write lock (as <see cref="SqliteOutboxStoreOptions.BusyTimeout"/>).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets <c>PRAGMA synchronous</c> of the store's connections (as <see cref="SqliteOutboxStoreOptions.Synchronous"/>).</summary>
    /// <value>The default value is <see cref="SqliteSynchronousMode.Full"/>: a saved event survives a power loss.</value>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>Gets or sets the clock of the events' <c>recorded_at</c> column.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the options; the message never contains the connection string.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SqliteEventStoreOptions.ConnectionString is required.");
        }

        if (TablePrefix is null || TablePrefix.Length > 40 || (TablePrefix.Length > 0 && !Prefix().IsMatch(TablePrefix)))
        {
            throw new ArgumentException($"SqliteEventStoreOptions.TablePrefix '{TablePrefix}' must be at most 40 letters, digits or underscores, not starting with a digit.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Prefix();
}
