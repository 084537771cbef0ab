using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Kafka;

namespace Switchboard;

/// <summary>
/// Puts the bus registered with <c>services.AddSwitchboard(...)</c> on Kafka with options from the options system,
/// validated when the host starts:
/// <c>services.AddSwitchboard(b => ...).UseKafka(o => o.Bind(configuration.GetSection("Kafka")))</c>.
/// </summary>
public static class KafkaSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="KafkaTransport"/>, owned by the bus, whose <see cref="KafkaTransportOptions"/> come from the options
    /// system. The options are validated at host start (<c>ValidateOnStart</c>): invalid options stop the host with an
    /// <see cref="OptionsValidationException"/> naming the option, never quoting a setting's value.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the options, for example <c>o =&gt; o.Bind(section)</c> or <c>o =&gt; o.Configure(x =&gt; x.BootstrapServers = ...)</c>.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseKafka(this ISwitchboardBuilder builder, Action<OptionsBuilder<KafkaTransportOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        IServiceCollection services = builder.Services;
        OptionsBuilder<KafkaTransportOptions> options = services.AddOptions<KafkaTransportOptions>();
        configure(options);
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<KafkaTransportOptions>, KafkaTransportOptionsValidator>();
        return builder.Configure(b =>
        {
            IServiceProvider provider = b.Services ?? throw new InvalidOperationException("The Kafka options are read when the bus is built from the service provider.");
            b.UseKafka(provider.GetRequiredService<IOptions<KafkaTransportOptions>>().Value);
        });
    }
}

/// <summary>Runs <see cref="KafkaTransportOptions.Validate"/> for the options system.</summary>
internal sealed class KafkaTransportOptionsValidator : IValidateOptions<KafkaTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaTransportOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
