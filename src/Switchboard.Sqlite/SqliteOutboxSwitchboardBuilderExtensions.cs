using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Outbox;
using Switchboard.Sqlite;

namespace Switchboard;

/// <summary>
/// Gives the bus registered with <c>services.AddSwitchboard(...)</c> an outbox on SQLite with options from the options
/// system, validated when the host starts:
/// <c>services.AddSwitchboard(b =&gt; ...).UseSqliteOutbox(o =&gt; o.Bind(configuration.GetSection("Outbox")))</c>.
/// </summary>
public static class SqliteOutboxSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="SqliteOutboxStore"/> (owned by the bus) whose <see cref="SqliteOutboxStoreOptions"/> come from the
    /// options system. The options are validated at host start (<c>ValidateOnStart</c>): invalid or missing options stop the
    /// host with an <see cref="OptionsValidationException"/> naming the option, never quoting the connection string. The
    /// tables are created when the bus is built, unless <see cref="OutboxOptions.CreateSchema"/> is turned off.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the store's options, for example <c>o =&gt; o.Bind(section)</c>.</param>
    /// <param name="configureOutbox">Changes the outbox's options (dispatcher, retries, inbox); <c>o =&gt; section.Bind(o)</c> binds them too.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseSqliteOutbox(
        this ISwitchboardBuilder builder,
        Action<OptionsBuilder<SqliteOutboxStoreOptions>> configure,
        Action<OutboxOptions>? configureOutbox = null)
        => builder.UseValidatedOptions(configure, o => o.Validate(), (b, o) => b.UseSqliteOutbox(o, configureOutbox));
}
