using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Bus;
using Switchboard.Responses;
using Switchboard.Routing;
using Switchboard.Serialization;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard;

/// <summary>Creates standalone buses, for console apps, tests and anything without a host.</summary>
public static class MessageBus
{
    /// <summary>
    /// Creates a bus, in memory by default: handlers run in this process, and <c>ExecuteAsync</c> goes through an
    /// in-memory queue and response store. The bus is ready when this returns.
    /// </summary>
    /// <param name="configure">Registers handlers and sets options.</param>
    /// <returns>The bus; dispose it (or call <see cref="IMessageBus.ShutdownAsync(TimeSpan)"/>) to drain and stop.</returns>
    /// <exception cref="BusConfigurationException">The configuration breaks a rule (two handlers for a request, bad options...).</exception>
    public static IMessageBus Create(Action<BusBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        BusBuilder builder = new();
        configure(builder);
        SwitchboardBus bus = Build(builder, services: null);
        bus.StartInBackground();
        return bus;
    }

    internal static SwitchboardBus Build(BusBuilder builder, IServiceProvider? services)
    {
        builder.Options.Validate();
        List<Dispatch.HandlerInvoker> invokers = builder.CreateInvokers(services);

        List<KeyValuePair<Type, string?>> types = [.. builder.MessageTypes];
        foreach (Dispatch.HandlerInvoker invoker in invokers)
        {
            if (!invoker.MessageType.IsAbstract && !invoker.MessageType.IsInterface)
            {
                types.Add(new KeyValuePair<Type, string?>(invoker.MessageType, null));
            }

            if (invoker.ResultType is { IsAbstract: false, IsInterface: false } resultType && resultType != typeof(object))
            {
                types.Add(new KeyValuePair<Type, string?>(resultType, null));
            }
        }

        // Explicit names first, so that a handler's default name never shadows the name the user chose.
        types.Sort(static (a, b) => (a.Value is null).CompareTo(b.Value is null));
        MessageTypeRegistry registry = new(types);
        Router router = new(invokers, registry, builder.TransportRoutes, builder.Middleware.Bind(services));

        TimeProvider time = builder.TimeProvider ?? services?.GetService<TimeProvider>() ?? TimeProvider.System;
        ILoggerFactory loggerFactory = builder.LoggerFactory ?? services?.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        BusNaming.NameForTransport(builder.Options, builder.Transport, loggerFactory);
        ITransport transport = builder.Transport ?? new InMemoryTransport(time);
        TransportRequirements.Check(builder, transport);
        BusRuntime runtime = new(
            builder.Options,
            router,
            registry,
            builder.Serializer ?? builder.CreateDefaultSerializer(),
            builder.ResponseStore ?? new InMemoryResponseStore(time),
            transport,
            ownsTransport: builder.Transport is null || builder.OwnsTransport,
            loggerFactory,
            time,
            services?.GetService<IServiceScopeFactory>(),
            builder.CreatePartitionKeys())
        {
            OwnedHandlers = [.. builder.OwnedHandlers],
        };
        SwitchboardBus bus = new(runtime, parent: null, builder.Options.Name);
        if (builder.OutboxStore is { } store)
        {
            builder.OutboxOptions.Validate();
            bus.AttachOutbox(new Outbox.TransactionalOutbox(bus, store, builder.OutboxOptions, builder.OwnsOutboxStore));
        }

        return bus;
    }
}
