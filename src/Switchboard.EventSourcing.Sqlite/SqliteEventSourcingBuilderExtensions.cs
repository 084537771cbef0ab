using Switchboard.EventSourcing.Sqlite;

namespace Switchboard.EventSourcing;

/// <summary>Uses the SQLite event store in <c>AddEventSourcing(es => es.UseSqlite("Data Source=app.db"))</c>.</summary>
public static class SqliteEventSourcingBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="SqliteEventStore"/> on a database file. With <c>UseSqliteOutbox</c> on the same file, saves write the
    /// events and their outbox rows in one transaction.
    /// </summary>
    /// <param name="builder">The event sourcing builder.</param>
    /// <param name="connectionString">The Microsoft.Data.Sqlite connection string of the database file.</param>
    /// <param name="configure">Changes the store's options.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseSqlite(this EventSourcingBuilder builder, string connectionString, Action<SqliteEventStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        SqliteEventStoreOptions options = new() { ConnectionString = connectionString };
        configure?.Invoke(options);
        options.Validate();
        return builder.UseStore((_, types) => new SqliteEventStore(options, types));
    }
}
