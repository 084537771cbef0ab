using Microsoft.Extensions.DependencyInjection;
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
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        IServiceCollection services = builder.Services;
        OptionsBuilder<RabbitMqTransportOptions> options = services.AddOptions<RabbitMqTransportOptions>();
        configure(options);
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<RabbitMqTransportOptions>, RabbitMqTransportOptionsValidator>();

        // The options are read from the provider that builds the bus (BusBuilder.Services), after ValidateOnStart ran.
        return builder.Configure(b =>
        {
            IServiceProvider provider = b.Services ?? throw new InvalidOperationException("The RabbitMQ options are read when the bus is built from the service provider.");
            b.UseRabbitMq(provider.GetRequiredService<IOptions<RabbitMqTransportOptions>>().Value);
        });
    }
}

/// <summary>Runs <see cref="RabbitMqTransportOptions.Validate"/> for the options system (its messages never quote the URI).</summary>
internal sealed class RabbitMqTransportOptionsValidator : IValidateOptions<RabbitMqTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqTransportOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            // ArgumentException appends "(Parameter 'x')"; the message of Validate() alone says which option and why.
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
