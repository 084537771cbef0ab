using Npgsql;
using Switchboard.Outbox;
using Switchboard.Postgres;

namespace Switchboard;

/// <summary>
/// Gives a bus a transactional outbox and inbox on PostgreSQL:
/// <c>b.UsePostgresOutbox("Host=...;Database=...", o => o.PollInterval = TimeSpan.FromSeconds(5))</c>.
/// </summary>
public static class PostgresOutboxBusBuilderExtensions
{
    /// <summary>Uses a new <see cref="PostgresOutboxStore"/> on a connection string, with the default tables; the bus disposes it.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UsePostgresOutbox(this BusBuilder builder, string connectionString, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseOutbox(new PostgresOutboxStore(new PostgresOutboxStoreOptions { ConnectionString = connectionString }), disposeWithBus: true, configure);
    }

    /// <summary>
    /// Uses a new <see cref="PostgresOutboxStore"/> with these options; the bus disposes the store, which disposes its data
    /// source only when it created it from <see cref="PostgresOutboxStoreOptions.ConnectionString"/>.
    /// </summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">Where the tables are and how to reach the database; validated now.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UsePostgresOutbox(this BusBuilder builder, PostgresOutboxStoreOptions options, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseOutbox(new PostgresOutboxStore(options), disposeWithBus: true, configure);
    }

    /// <summary>Uses a new <see cref="PostgresOutboxStore"/> on a data source the caller owns (and disposes after the bus), with the default tables.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="dataSource">The data source.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UsePostgresOutbox(this BusBuilder builder, NpgsqlDataSource dataSource, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UseOutbox(new PostgresOutboxStore(new PostgresOutboxStoreOptions { DataSource = dataSource }), disposeWithBus: true, configure);
    }

    /// <summary>Uses a <see cref="PostgresOutboxStore"/> the caller created and owns (and disposes after the bus).</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="store">The store.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UsePostgresOutbox(this BusBuilder builder, PostgresOutboxStore store, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        return builder.UseOutbox(store, disposeWithBus: false, configure);
    }
}
