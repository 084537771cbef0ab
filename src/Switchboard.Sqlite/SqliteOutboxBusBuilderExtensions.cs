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
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseSqliteOutbox(this BusBuilder builder, SqliteOutboxStoreOptions options, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseOutbox(new SqliteOutboxStore(options), disposeWithBus: true, configure);
    }
}
