using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Switchboard;
using Switchboard.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs bus services with the host, and registers middleware resolved from the container.</summary>
public static class SwitchboardHostingExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TService"/> as a singleton that starts with the host and stops with it (seed 002's
    /// <c>BaseService</c> without a hand-written adapter). Its constructor's parameters, the <see cref="IMessageBus"/>
    /// included, come from the container. Services stop before the bus drains (the host stops in reverse order).
    /// </summary>
    /// <typeparam name="TService">The service.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddBusService<TService>(this IServiceCollection services)
        where TService : BusService
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<TService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BusServiceHostedService<TService>>());
        return services;
    }

    /// <summary>Registers a bus service that runs with the host; see <see cref="AddBusService{TService}(IServiceCollection)"/>.</summary>
    /// <typeparam name="TService">The service.</typeparam>
    /// <param name="builder">The Switchboard builder.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder AddBusService<TService>(this ISwitchboardBuilder builder)
        where TService : BusService
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddBusService<TService>();
        return builder;
    }

    /// <summary>
    /// Registers incoming middleware in the container (scoped, unless registered already) and on the bus: it is resolved
    /// per message from the message's scope, so it may depend on scoped services such as a <c>DbContext</c>.
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware type.</typeparam>
    /// <param name="builder">The Switchboard builder.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseIncoming<TMiddleware>(this ISwitchboardBuilder builder, Type? appliesTo = null)
        where TMiddleware : class, IIncomingMiddleware
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddScoped<TMiddleware>();
        return builder.Configure(b => b.UseIncoming<TMiddleware>(appliesTo));
    }

    /// <summary>
    /// Registers outgoing middleware in the container (singleton, unless registered already) and on the bus, which takes
    /// the container's instance when it is built.
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware type.</typeparam>
    /// <param name="builder">The Switchboard builder.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseOutgoing<TMiddleware>(this ISwitchboardBuilder builder, Type? appliesTo = null)
        where TMiddleware : class, IOutgoingMiddleware
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TMiddleware>();
        return builder.Configure(b => b.UseOutgoing<TMiddleware>(appliesTo));
    }
}
