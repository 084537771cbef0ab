using Switchboard.Outbox;
using Switchboard.Sqlite;

namespace Switchboard;

/// <summary>
/// Gives a bus a transactional outbox and inbox on SQLite:
/// <c>b.UseSqliteOutbox("Data Source=app.db", o => o.PollInterval = TimeSpan.FromSeconds(5))</c>.
/// </summary>
public static class SqliteOutboxBusBuilderExtensions
{
    /// <summary>Uses a new <see cref="SqliteOutboxStore"/> on a database file, with the default tables; the bus disposes it.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="connectionString">The Microsoft.Data.Sqlite connection string of a database file (not <c>:memory:</c>).</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseSqliteOutbox(this BusBuilder builder, string connectionString, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqliteOutbox(new SqliteOutboxStoreOptions { ConnectionString = connectionString }, configure);
    }

    /// <summary>Uses a new <see cref="SqliteOutboxStore"/> with these options; the bus disposes it.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">The database, the tables and the connections' settings; validated now.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    /// <remarks>Unless <see cref="OutboxOptions.CreateSchema"/> is turned off, the tables are created by this call.</remarks>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseSqliteOutbox(this BusBuilder builder, SqliteOutboxStoreOptions options, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        SqliteOutboxStore store = new(options);

        // The tables are created now, not when the bus starts: SQLite has one writer, so an application transaction that
        // began writing before them would hold the lock their creation needs (a local file: this takes milliseconds, and a
        // database that cannot be opened is reported here, at configuration).
        OutboxOptions probe = new();
        configure?.Invoke(probe);
        if (probe.CreateSchema)
        {
            try
            {
                store.EnsureSchemaAsync().AsTask().GetAwaiter().GetResult();
            }
            catch
            {
                store.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw;
            }
        }

        return builder.UseOutbox(store, disposeWithBus: true, configure);
    }
}
