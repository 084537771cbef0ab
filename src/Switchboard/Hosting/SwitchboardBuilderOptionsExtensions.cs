using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Switchboard.Hosting;

/// <summary>
/// The one way transport and store packages take their options from the options system: bound from configuration by the
/// application (<c>o =&gt; o.Bind(section)</c>), validated when the host starts, and read when the bus is built.
/// </summary>
public static class SwitchboardBuilderOptionsExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TOptions"/> in the options system, configured by <paramref name="configureOptions"/>
    /// and checked by <paramref name="validate"/> at host start (<c>ValidateOnStart</c>): invalid or missing options stop the
    /// host with an <see cref="OptionsValidationException"/> whose message is the one <paramref name="validate"/> threw,
    /// before any hosted service starts. When the bus is built, <paramref name="configureBus"/> applies the validated options
    /// to it (for example <c>(b, o) =&gt; b.UseRedis(o)</c>).
    /// </summary>
    /// <typeparam name="TOptions">The options type of the transport or store.</typeparam>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configureOptions">Configures the options, for example <c>o =&gt; o.Bind(configuration.GetSection("Redis"))</c>.</param>
    /// <param name="validate">Throws an <see cref="ArgumentException"/> naming the first invalid option (never quoting a secret).</param>
    /// <param name="configureBus">Puts the options to use on the bus's builder.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseValidatedOptions<TOptions>(
        this ISwitchboardBuilder builder,
        Action<OptionsBuilder<TOptions>> configureOptions,
        Action<TOptions> validate,
        Action<BusBuilder, TOptions> configureBus)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        ArgumentNullException.ThrowIfNull(validate);
        ArgumentNullException.ThrowIfNull(configureBus);

        OptionsBuilder<TOptions> options = builder.Services.AddOptions<TOptions>();
        configureOptions(options);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>>(new DelegateValidator<TOptions>(validate)));

        // Read from the provider that builds the bus (BusBuilder.Services): the options system validates them again there, so a
        // bus resolved without a host never runs on invalid options either.
        return builder.Configure(b =>
        {
            IServiceProvider provider = b.Services ?? throw new InvalidOperationException(
                $"{typeof(TOptions).Name} are read from the service provider that builds the bus; use services.AddSwitchboard(...).");
            configureBus(b, provider.GetRequiredService<IOptions<TOptions>>().Value);
        });
    }

    /// <summary>Runs an options type's own validation for the options system.</summary>
    private sealed class DelegateValidator<TOptions>(Action<TOptions> validate) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            try
            {
                validate(options);
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException ex)
            {
                // ArgumentException appends "(Parameter 'x')"; the message alone says which option and why.
                return ValidateOptionsResult.Fail(ex.Message.Split(" (Parameter '", 2)[0]);
            }
        }
    }
}
