using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Outbox;
using Switchboard.Postgres;

namespace Switchboard;

/// <summary>
/// Gives the bus registered with <c>services.AddSwitchboard(...)</c> an outbox on PostgreSQL with options from the options
/// system, validated when the host starts:
/// <c>services.AddSwitchboard(b =&gt; ...).UsePostgresOutbox(o =&gt; o.Bind(configuration.GetSection("Outbox")))</c>.
/// </summary>
public static class PostgresOutboxSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="PostgresOutboxStore"/> (owned by the bus) whose <see cref="PostgresOutboxStoreOptions"/> come from the
    /// options system. The options are validated at host start (<c>ValidateOnStart</c>): invalid or missing options stop the
    /// host with an <see cref="OptionsValidationException"/> naming the option, never quoting the connection string.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the store's options, for example <c>o =&gt; o.Bind(section)</c>.</param>
    /// <param name="configureOutbox">Changes the outbox's options (dispatcher, retries, inbox); <c>o =&gt; section.Bind(o)</c> binds them too.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UsePostgresOutbox(
        this ISwitchboardBuilder builder,
        Action<OptionsBuilder<PostgresOutboxStoreOptions>> configure,
        Action<OutboxOptions>? configureOutbox = null)
        => builder.UseValidatedOptions(configure, o => o.Validate(), (b, o) => b.UsePostgresOutbox(o, configureOutbox));
}
