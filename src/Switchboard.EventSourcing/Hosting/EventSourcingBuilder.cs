using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Switchboard.EventSourcing;

/// <summary>
/// Configures event sourcing in <c>services.AddSwitchboard(...).AddEventSourcing(es => ...)</c>: the event types, the store,
/// the aggregates (an <see cref="AggregateRepository{TAggregate}"/> each) and the catch-up projections (run by a hosted
/// service). The SQLite and PostgreSQL packages add <c>UseSqlite</c> / <c>UsePostgres</c>.
/// </summary>
public sealed class EventSourcingBuilder
{
    internal EventSourcingBuilder(IServiceCollection services, EventTypes types)
    {
        Services = services;
        Types = types;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the allow-list of event types (registered on the bus as message types too).</summary>
    public EventTypes Types { get; }

    /// <summary>Registers an event type.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">Its stored name; by default its <see cref="MessageNameAttribute"/> or full type name.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddEvent<TEvent>(string? name = null)
        where TEvent : DomainEvent
    {
        Types.Add<TEvent>(name);
        return this;
    }

    /// <summary>Registers every concrete <see cref="DomainEvent"/> type of an assembly.</summary>
    /// <param name="assembly">The assembly.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddEventsFromAssembly(Assembly assembly)
    {
        Types.AddFromAssembly(assembly);
        return this;
    }

    /// <summary>Uses an event store made by a factory (a singleton). Without a call, the store is an <see cref="InMemoryEventStore"/>.</summary>
    /// <param name="factory">Makes the store from the services and the event types.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseStore(Func<IServiceProvider, EventTypes, IEventStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IEventStore>();
        Services.AddSingleton(provider => factory(provider, provider.GetRequiredService<EventTypes>()));
        return this;
    }

    /// <summary>Registers an aggregate: <see cref="AggregateRepository{TAggregate}"/> becomes a singleton service.</summary>
    /// <typeparam name="TAggregate">The aggregate.</typeparam>
    /// <param name="factory">Creates an empty aggregate with an id.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddAggregate<TAggregate>(Func<string, TAggregate> factory)
        where TAggregate : AggregateRoot
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.TryAddSingleton(provider => new AggregateRepository<TAggregate>(
            provider.GetRequiredService<IEventStore>(), provider.GetRequiredService<IMessageBus>(), factory));
        return this;
    }

    /// <summary>
    /// Registers a catch-up projection: the projection as a singleton, a <see cref="CatchUpProjectionRunner"/> for it (in
    /// <see cref="CatchUpProjections"/>), run from its checkpoint while the host runs.
    /// </summary>
    /// <typeparam name="TProjection">The projection.</typeparam>
    /// <param name="configure">Changes its runner's options.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddProjection<TProjection>(Action<CatchUpProjectionOptions>? configure = null)
        where TProjection : class, ICatchUpProjection
    {
        Services.TryAddSingleton<TProjection>();
        CatchUpProjectionOptions options = new();
        configure?.Invoke(options);
        options.Validate();
        Services.AddSingleton(provider => new CatchUpProjectionRunner(
            provider.GetRequiredService<IEventStore>(),
            provider.GetRequiredService<TProjection>(),
            options,
            provider.GetService<ILoggerFactory>()?.CreateLogger(typeof(CatchUpProjectionRunner).FullName!)));
        return this;
    }
}
