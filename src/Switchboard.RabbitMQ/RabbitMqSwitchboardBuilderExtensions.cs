using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.RabbitMQ;

namespace Switchboard;

/// <summary>
/// Puts the bus registered with <c>services.AddSwitchboard(...)</c> on RabbitMQ with options from the options system,
/// validated when the host starts:
/// <c>services.AddSwitchboard(b => ...).UseRabbitMq(o => o.Bind(configuration.GetSection("RabbitMQ")))</c>.
/// </summary>
public static class RabbitMqSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="RabbitMqTransport"/>, owned by the bus, whose <see cref="RabbitMqTransportOptions"/> come from the
    /// options system. The options are validated at host start (<c>ValidateOnStart</c>): invalid options stop the host with an
    /// <see cref="OptionsValidationException"/> naming the option, never quoting the URI.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the options, for example <c>o =&gt; o.Bind(section)</c> or <c>o =&gt; o.Configure(x =&gt; x.Uri = ...)</c>.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseRabbitMq(this ISwitchboardBuilder builder, Action<OptionsBuilder<RabbitMqTransportOptions>> configure)
        => builder.UseValidatedOptions(configure, o => o.Validate(), (b, o) => b.UseRabbitMq(o));
}
