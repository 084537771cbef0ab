using Switchboard.EventSourcing.Postgres;

namespace Switchboard.EventSourcing;

/// <summary>Uses the PostgreSQL event store in <c>AddEventSourcing(es => es.UsePostgres("Host=...;Database=..."))</c>.</summary>
public static class PostgresEventSourcingBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="PostgresEventStore"/> on a connection string. With <c>UsePostgresOutbox</c> on the same database,
    /// saves write the events and their outbox rows in one transaction.
    /// </summary>
    /// <param name="builder">The event sourcing builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="configure">Changes the store's options.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UsePostgres(this EventSourcingBuilder builder, string connectionString, Action<PostgresEventStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        PostgresEventStoreOptions options = new() { ConnectionString = connectionString };
        configure?.Invoke(options);
        options.Validate();
        return builder.UseStore((_, types) => new PostgresEventStore(options, types));
    }
}
