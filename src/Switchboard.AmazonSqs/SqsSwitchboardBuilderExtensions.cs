using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.AmazonSqs;
using Switchboard.Hosting;

namespace Switchboard;

/// <summary>
/// Puts the bus registered with <c>services.AddSwitchboard(...)</c> on Amazon SQS with options from the options system,
/// validated when the host starts:
/// <c>services.AddSwitchboard(b => ...).UseAmazonSqs(o => o.Bind(configuration.GetSection("Sqs")))</c>.
/// </summary>
public static class SqsSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses an <see cref="SqsTransport"/>, owned by the bus, whose <see cref="SqsTransportOptions"/> come from the options
    /// system. The options are validated at host start (<c>ValidateOnStart</c>): invalid options stop the host with an
    /// <see cref="OptionsValidationException"/> naming the option, never quoting a credential.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the options, for example <c>o =&gt; o.Bind(section)</c>.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseAmazonSqs(this ISwitchboardBuilder builder, Action<OptionsBuilder<SqsTransportOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        IServiceCollection services = builder.Services;
        OptionsBuilder<SqsTransportOptions> options = services.AddOptions<SqsTransportOptions>();
        configure(options);
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<SqsTransportOptions>, SqsTransportOptionsValidator>();
        return builder.Configure(b =>
        {
            IServiceProvider provider = b.Services ?? throw new InvalidOperationException("The SQS options are read when the bus is built from the service provider.");
            SqsTransport transport = new(provider.GetRequiredService<IOptions<SqsTransportOptions>>().Value, provider.GetService<ILogger<SqsTransport>>());
            b.UseTransport(transport, disposeWithBus: true);
        });
    }
}

/// <summary>Runs <see cref="SqsTransportOptions.Validate"/> for the options system (its messages never quote credentials).</summary>
internal sealed class SqsTransportOptionsValidator : IValidateOptions<SqsTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, SqsTransportOptions options)
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
