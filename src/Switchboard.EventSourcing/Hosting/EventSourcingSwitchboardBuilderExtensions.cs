using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Switchboard.EventSourcing;
using Switchboard.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds event sourcing to a bus registered with <c>services.AddSwitchboard(...)</c>.</summary>
public static class EventSourcingSwitchboardBuilderExtensions
{
    /// <summary>
    /// Registers the event store (in memory unless the configuration picks one), an <see cref="AggregateRepository{TAggregate}"/>
    /// per aggregate and the catch-up projections (a hosted service runs them). Every registered event type also goes on the
    /// bus's allow-list of message types, under the same name.
    /// </summary>
    /// <param name="builder">The bus registration.</param>
    /// <param name="configure">Registers events, the store, aggregates and projections.</param>
    /// <returns>The bus registration.</returns>
    public static ISwitchboardBuilder AddEventSourcing(this ISwitchboardBuilder builder, Action<EventSourcingBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        IServiceCollection services = builder.Services;
        EventTypes? types = services.FirstOrDefault(d => d.ServiceType == typeof(EventTypes))?.ImplementationInstance as EventTypes;
        if (types is null)
        {
            types = new EventTypes();
            services.AddSingleton(types);
            services.TryAddSingleton<IEventStore>(provider => new InMemoryEventStore(types));
            services.TryAddSingleton<CatchUpProjections>();
            services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<CatchUpProjections>());
            builder.Configure(bus =>
            {
                foreach (Type type in types.Types)
                {
                    if (types.TryGetName(type, out string? name))
                    {
                        bus.AddMessageType(type, name);
                    }
                }
            });
        }

        configure(new EventSourcingBuilder(services, types));
        return builder;
    }
}
