using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Switchboard;
using Switchboard.Hosting;
using Switchboard.Outbox;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Switchboard in a service collection.</summary>
public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// Registers the bus as a singleton <see cref="IMessageBus"/>. Class handlers are resolved per message from a new DI
    /// scope; the bus is built, validated and its consumers started when the host starts, and it drains and stops with the
    /// host. Calling it again adds configuration to the same bus.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Registers handlers and sets options.</param>
    /// <returns>A builder that transport and outbox packages extend.</returns>
    public static ISwitchboardBuilder AddSwitchboard(this IServiceCollection services, Action<BusBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        SwitchboardConfiguration? configuration = services
            .FirstOrDefault(d => d.ServiceType == typeof(SwitchboardConfiguration))?.ImplementationInstance as SwitchboardConfiguration;
        if (configuration is null)
        {
            configuration = new SwitchboardConfiguration();
            services.AddSingleton(configuration);
        }

        services.TryAddSingleton<IMessageBus>(provider =>
        {
            BusBuilder builder = new() { Services = provider };
            foreach (Action<BusBuilder> action in provider.GetRequiredService<SwitchboardConfiguration>().Actions)
            {
                action(builder);
            }

            return MessageBus.Build(builder, provider);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SwitchboardHostedService>());

        // The outbox of the bus, for application code that writes messages in its transactions (fails clearly without one).
        services.TryAddSingleton<Switchboard.Outbox.IOutbox>(provider => provider.GetRequiredService<IMessageBus>().GetOutbox());

        SwitchboardBuilder switchboard = new(services, configuration);
        switchboard.Configure(configure);
        return switchboard;
    }
}
