using Switchboard.Pipeline;

namespace Switchboard;

/// <summary>
/// Registers middleware on a <see cref="BusBuilder"/>: incoming (around every handler invocation) and outgoing (before a
/// message is routed). Middleware runs in registration order, the first registered outermost. Each registration may be
/// limited to the messages assignable to <c>appliesTo</c> (a message type, a base type or an interface).
/// </summary>
public static class BusBuilderPipelineExtensions
{
    /// <summary>Adds incoming middleware: one instance for every message it applies to.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middleware">The middleware.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseIncoming(this BusBuilder builder, IIncomingMiddleware middleware, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(middleware);
        builder.Middleware.Incoming.Add(new MiddlewareRegistry.Registration(middleware, null, appliesTo));
        return builder;
    }

    /// <summary>Adds incoming middleware written as a delegate: <c>async (context, next) =&gt; { ...; await next(context); ... }</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middleware">The middleware.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseIncoming(this BusBuilder builder, Func<IncomingContext, IncomingNext, ValueTask> middleware, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(middleware);
        builder.Middleware.Incoming.Add(new MiddlewareRegistry.Registration(middleware, null, appliesTo));
        return builder;
    }

    /// <summary>
    /// Adds incoming middleware by type. With dependency injection, a type registered in the container is resolved per
    /// message from the message's scope (so it may depend on scoped services); otherwise one instance is created when the
    /// bus is built (from the container's services, or with its parameterless constructor on a standalone bus).
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseIncoming<TMiddleware>(this BusBuilder builder, Type? appliesTo = null)
        where TMiddleware : class, IIncomingMiddleware
        => builder.UseIncoming(typeof(TMiddleware), appliesTo);

    /// <summary>
    /// Adds incoming middleware by type, which may be an open generic with one type parameter
    /// (<c>typeof(AuditMiddleware&lt;&gt;)</c>): it is closed over each message type, and skipped for the message types its
    /// constraints exclude. Instances as for <see cref="UseIncoming{TMiddleware}(BusBuilder, Type?)"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middlewareType">A type implementing <see cref="IIncomingMiddleware"/>.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseIncoming(this BusBuilder builder, Type middlewareType, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        EnsureMiddlewareType(middlewareType, typeof(IIncomingMiddleware));
        builder.Middleware.Incoming.Add(new MiddlewareRegistry.Registration(null, middlewareType, appliesTo));
        return builder;
    }

    /// <summary>Adds outgoing middleware: one instance for every message it applies to.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middleware">The middleware.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseOutgoing(this BusBuilder builder, IOutgoingMiddleware middleware, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(middleware);
        builder.Middleware.Outgoing.Add(new MiddlewareRegistry.Registration(middleware, null, appliesTo));
        return builder;
    }

    /// <summary>Adds outgoing middleware written as a delegate: <c>async (context, next) =&gt; { context.Headers["x"] = "y"; await next(context); }</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middleware">The middleware.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseOutgoing(this BusBuilder builder, Func<OutgoingContext, OutgoingNext, ValueTask> middleware, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(middleware);
        builder.Middleware.Outgoing.Add(new MiddlewareRegistry.Registration(middleware, null, appliesTo));
        return builder;
    }

    /// <summary>
    /// Adds outgoing middleware by type: one instance, created when the bus is built (from the container's services, or with
    /// its parameterless constructor on a standalone bus).
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseOutgoing<TMiddleware>(this BusBuilder builder, Type? appliesTo = null)
        where TMiddleware : class, IOutgoingMiddleware
        => builder.UseOutgoing(typeof(TMiddleware), appliesTo);

    /// <summary>Adds outgoing middleware by type, which may be an open generic closed over each message type; see <see cref="UseIncoming(BusBuilder, Type, Type?)"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="middlewareType">A type implementing <see cref="IOutgoingMiddleware"/>.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseOutgoing(this BusBuilder builder, Type middlewareType, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        EnsureMiddlewareType(middlewareType, typeof(IOutgoingMiddleware));
        builder.Middleware.Outgoing.Add(new MiddlewareRegistry.Registration(null, middlewareType, appliesTo));
        return builder;
    }

    private static void EnsureMiddlewareType(Type middlewareType, Type contract)
    {
        ArgumentNullException.ThrowIfNull(middlewareType);
        if (!middlewareType.IsClass || middlewareType.IsAbstract || !middlewareType.GetInterfaces().Contains(contract))
        {
            throw new ArgumentException($"{middlewareType.Name} must be a concrete class implementing {contract.Name}.", nameof(middlewareType));
        }

        if (middlewareType.IsGenericTypeDefinition && middlewareType.GetGenericArguments().Length != 1)
        {
            throw new ArgumentException($"{middlewareType.Name} is an open generic with {middlewareType.GetGenericArguments().Length} type parameters; middleware is closed over the message type, so it needs exactly one.", nameof(middlewareType));
        }
    }
}
