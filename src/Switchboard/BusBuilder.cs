using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Switchboard.Dispatch;
using Switchboard.Responses;
using Switchboard.Serialization;
using Switchboard.Transport;

namespace Switchboard;

/// <summary>
/// Configures a bus: its handlers, message types, transport, response store and options. The registrations are frozen
/// when the bus is built; runtime subscriptions go through <see cref="IMessageBus.Subscribe{T}(Action{T})"/>.
/// </summary>
public sealed partial class BusBuilder
{
    private readonly List<Registration> _registrations = [];
    private readonly List<KeyValuePair<Type, string?>> _messageTypes = [];
    private readonly List<KeyValuePair<Type, string?>> _transportRoutes = [];

    internal BusBuilder()
    {
    }

    /// <summary>Gets the bus's options.</summary>
    public BusOptions Options { get; } = new();

    /// <summary>
    /// Gets the application's service provider while a bus registered with <c>services.AddSwitchboard(...)</c> is being built
    /// (configuration actions can read options and services from it); <see langword="null"/> for <see cref="MessageBus.Create"/>.
    /// </summary>
    public IServiceProvider? Services { get; internal set; }

    internal ITransport? Transport { get; private set; }

    internal IResponseStore? ResponseStore { get; private set; }

    internal IMessageSerializer? Serializer { get; private set; }

    internal ILoggerFactory? LoggerFactory { get; private set; }

    internal TimeProvider? TimeProvider { get; private set; }

    /// <summary>Changes options.</summary>
    /// <param name="configure">Changes <see cref="Options"/>.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Configure(Action<BusOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(Options);
        return this;
    }

    /// <summary>Registers a synchronous handler.</summary>
    /// <typeparam name="T">The message type; handlers of a base type or interface receive derived events too.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T>(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new ActionInvoker<T>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers an asynchronous handler.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T>(Func<T, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new AsyncNoTokenInvoker<T>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers an asynchronous handler that observes cancellation.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T>(Func<T, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new AsyncInvoker<T>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers an asynchronous handler that reads the <see cref="MessageContext"/> or cascades messages through it.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T>(Func<T, MessageContext, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new ContextInvoker<T>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers a synchronous handler with a result: the one handler of a command or request.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T, TResult>(Func<T, TResult> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new FuncInvoker<T, TResult>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers an asynchronous handler with a result.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T, TResult>(Func<T, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new AsyncFuncInvoker<T, TResult>(handler, DelegateName<T>(handler)));
    }

    /// <summary>Registers an asynchronous handler with a result that reads the <see cref="MessageContext"/>.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public BusBuilder Handle<T, TResult>(Func<T, MessageContext, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new ContextFuncInvoker<T, TResult>(handler, DelegateName<T>(handler)));
    }

    /// <summary>
    /// Registers a class handler for every <see cref="IHandler{TMessage}"/> and <see cref="IHandler{TMessage, TResult}"/> it
    /// implements. With dependency injection it is resolved per message from the message's scope; on a standalone bus one
    /// instance is created with its parameterless constructor.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <returns>This builder.</returns>
    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    public BusBuilder AddHandler<THandler>()
        where THandler : class
        => AddHandler(typeof(THandler));

    /// <summary>Registers a class handler by type; see <see cref="AddHandler{THandler}()"/>.</summary>
    /// <param name="handlerType">The handler class.</param>
    /// <returns>This builder.</returns>
    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    public BusBuilder AddHandler(Type handlerType)
    {
        ArgumentNullException.ThrowIfNull(handlerType);
        EnsureHandlerType(handlerType);
        if (!_registrations.OfType<ClassRegistration>().Any(r => r.HandlerType == handlerType && r.Instance is null))
        {
            _registrations.Add(new ClassRegistration(handlerType, null));
        }

        return this;
    }

    /// <summary>Registers a handler instance that serves every message for the bus's lifetime.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="instance">The instance.</param>
    /// <returns>This builder.</returns>
    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    public BusBuilder AddHandler<THandler>(THandler instance)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(instance);
        EnsureHandlerType(instance.GetType());
        _registrations.Add(new ClassRegistration(instance.GetType(), instance));
        return this;
    }

    /// <summary>Registers every concrete class handler in an assembly.</summary>
    /// <param name="assembly">The assembly to scan.</param>
    /// <returns>This builder.</returns>
    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    public BusBuilder AddHandlersFromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (Type type in assembly.GetTypes())
        {
            if (type is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false } && HandlerInterfaces(type).Any())
            {
                AddHandler(type);
            }
        }

        return this;
    }

    /// <summary>
    /// Adds a message type to the allow-list of types a transport may deliver, under a stable name. Handled types and
    /// result types are added automatically; add the types that only other services handle, or give a type its wire name.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="name">Its stable name; <see langword="null"/> for its <see cref="MessageNameAttribute"/> or full name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder AddMessageType<T>(string? name = null) => AddMessageType(typeof(T), name);

    /// <summary>Adds a message type to the allow-list; see <see cref="AddMessageType{T}(string?)"/>.</summary>
    /// <param name="type">The message type.</param>
    /// <param name="name">Its stable name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder AddMessageType(Type type, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (name is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
        }

        _messageTypes.Add(new KeyValuePair<Type, string?>(type, name));
        return this;
    }

    /// <summary>
    /// Routes messages of <typeparamref name="T"/> (and of types derived from it) through the transport instead of
    /// straight to the handlers in this process. <c>PublishAsync</c> and <c>SendAsync</c> return once the transport has
    /// confirmed the message; <c>RequestAsync</c> and <c>ExecuteAsync</c> wait for the result in the response store. A bus
    /// that has handlers for a routed type consumes its destination with its <see cref="BusOptions.Name"/> as consumer group:
    /// every group receives every message, and buses sharing a name share the work.
    /// </summary>
    /// <typeparam name="T">The message type, or a base type or interface of the messages to route.</typeparam>
    /// <param name="destination">The topic, stream or queue; <see langword="null"/> for each concrete type's stable name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder RouteToTransport<T>(string? destination = null) => RouteToTransport(typeof(T), destination);

    /// <summary>Routes messages of a type through the transport; see <see cref="RouteToTransport{T}(string?)"/>.</summary>
    /// <param name="messageType">The message type, or a base type or interface.</param>
    /// <param name="destination">The topic, stream or queue; <see langword="null"/> for each concrete type's stable name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder RouteToTransport(Type messageType, string? destination = null)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        if (destination is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        }

        _transportRoutes.Add(new KeyValuePair<Type, string?>(messageType, destination));
        if (!messageType.IsAbstract && !messageType.IsInterface)
        {
            _messageTypes.Add(new KeyValuePair<Type, string?>(messageType, null));
        }

        return this;
    }

    internal IReadOnlyList<KeyValuePair<Type, string?>> TransportRoutes => _transportRoutes;

    /// <summary>Gets the incoming and outgoing middleware, in order (<c>UseIncoming</c>, <c>UseOutgoing</c>).</summary>
    internal Pipeline.MiddlewareRegistry Middleware { get; } = new();

    /// <summary>Sets the transport that carries <c>ExecuteAsync</c> messages to workers. The default is an <see cref="Transport.InMemory.InMemoryTransport"/>.</summary>
    /// <param name="transport">The transport. The caller owns it (several buses may share one) and disposes it after the buses.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTransport(ITransport transport) => UseTransport(transport, disposeWithBus: false);

    /// <summary>
    /// Sets the transport, and whether the bus owns it. Transport packages use this to hand a bus a connection they
    /// created for it (<c>b.UseRedis(...)</c>), which the bus then disposes when it is disposed.
    /// </summary>
    /// <param name="transport">The transport.</param>
    /// <param name="disposeWithBus"><see langword="true"/> when the bus disposes the transport; <see langword="false"/> when the caller does.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTransport(ITransport transport, bool disposeWithBus)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        OwnsTransport = disposeWithBus;
        return this;
    }

    internal bool OwnsTransport { get; private set; }

    /// <summary>Sets the response store through which workers return results. The default is an <see cref="InMemoryResponseStore"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseResponseStore(IResponseStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        ResponseStore = store;
        return this;
    }

    /// <summary>Sets the serializer for transports and the response store. The default is <see cref="JsonMessageSerializer"/>.</summary>
    /// <param name="serializer">The serializer.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseSerializer(IMessageSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        Serializer = serializer;
        return this;
    }

    /// <summary>Sets where the bus logs. With dependency injection the container's logger factory is used.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        LoggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the clock for timeouts, delays and timestamps (tests pass a fake one).</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        TimeProvider = timeProvider;
        return this;
    }

    /// <summary>
    /// Gives the bus a transactional outbox and inbox on a store (<c>UseSqliteOutbox</c> and <c>UsePostgresOutbox</c> call
    /// this): messages added with <see cref="Outbox.IOutbox"/> in the application's transaction are dispatched after it commits,
    /// cascaded messages go through it, and received messages are deduplicated by the inbox.
    /// </summary>
    /// <param name="store">The store. The caller owns it and disposes it after the bus.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseOutbox(Outbox.IOutboxStore store, Action<Outbox.OutboxOptions>? configure = null)
        => UseOutbox(store, disposeWithBus: false, configure);

    /// <summary>Gives the bus a transactional outbox on a store, and says whether the bus owns (and disposes) the store.</summary>
    /// <param name="store">The store.</param>
    /// <param name="disposeWithBus"><see langword="true"/> when the bus disposes the store; <see langword="false"/> when the caller does.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseOutbox(Outbox.IOutboxStore store, bool disposeWithBus, Action<Outbox.OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        OutboxStore = store;
        OwnsOutboxStore = disposeWithBus;
        configure?.Invoke(OutboxOptions);
        return this;
    }

    internal Outbox.IOutboxStore? OutboxStore { get; private set; }

    internal bool OwnsOutboxStore { get; private set; }

    internal Outbox.OutboxOptions OutboxOptions { get; } = new();

    internal IReadOnlyList<KeyValuePair<Type, string?>> MessageTypes => _messageTypes;

    /// <summary>Creates the invokers, frozen from here on, and checks the rules a built bus relies on.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Class registrations exist only after a call of AddHandler or AddHandlersFromAssembly, which carries the warning to the application.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above: the reflection-based registrations warned where they were made.")]
    internal List<HandlerInvoker> CreateInvokers(IServiceProvider? services)
    {
        List<HandlerInvoker> invokers = [];
        Dictionary<Type, object>? compiledInstances = null;
        foreach (Registration registration in _registrations)
        {
            switch (registration)
            {
                case DelegateRegistration d:
                    invokers.Add(d.Invoker);
                    break;
                case ClassRegistration c:
                    invokers.AddRange(CreateClassInvokers(c, services));
                    break;
                case CompiledRegistration g:
                    invokers.Add(g.Create(services, compiledInstances ??= []));
                    break;
            }
        }

        ValidateRequestHandlers(invokers);
        return invokers;
    }

    private static void ValidateRequestHandlers(List<HandlerInvoker> invokers)
    {
        foreach (IGrouping<Type, HandlerInvoker> group in invokers.GroupBy(i => i.MessageType))
        {
            Type type = group.Key;
            HandlerInvoker[] handlers = [.. group];
            Type? requestResult = RequestResultType(type);
            bool hasResultHandler = handlers.Any(h => h.ResultType is not null);
            if ((requestResult is not null || hasResultHandler) && handlers.Length > 1)
            {
                throw new BusConfigurationException(
                    $"{type.Name} has {handlers.Length} handlers ({string.Join(", ", handlers.Select(h => h.Name))}), but a request or a command with a result has exactly one. " +
                    "Remove all but one registration, or publish an event type instead.");
            }

            if (requestResult is not null)
            {
                HandlerInvoker handler = handlers[0];
                if (handler.ResultType is null || !requestResult.IsAssignableFrom(handler.ResultType) || handler.ResultType != requestResult)
                {
                    throw new BusConfigurationException(
                        $"{type.Name} implements IRequest<{requestResult.Name}>, but its handler {handler.Name} returns {(handler.ResultType is null ? "nothing" : handler.ResultType.Name)}. " +
                        $"Register it with Handle<{type.Name}, {requestResult.Name}>(...) or implement IHandler<{type.Name}, {requestResult.Name}>.");
                }
            }
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "IRequest<TResult> is kept on every request type: RequestAsync takes the request as IRequest<TResult>, which keeps the implementation.")]
    internal static Type? RequestResultType(Type messageType)
    {
        foreach (Type candidate in messageType.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IRequest<>))
            {
                return candidate.GetGenericArguments()[0];
            }
        }

        return null;
    }

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    private static IEnumerable<HandlerInvoker> CreateClassInvokers(ClassRegistration registration, IServiceProvider? services)
    {
        Type handlerType = registration.HandlerType;
        object activator;
        if (registration.Instance is not null)
        {
            activator = Activator.CreateInstance(typeof(SingletonActivator<>).MakeGenericType(handlerType), registration.Instance)!;
        }
        else if (services is not null)
        {
            activator = Activator.CreateInstance(typeof(ScopedActivator<>).MakeGenericType(handlerType))!;
        }
        else
        {
            if (handlerType.GetConstructor(Type.EmptyTypes) is null)
            {
                throw new BusConfigurationException(
                    $"{handlerType.Name} has no parameterless constructor, and a standalone bus has no container to resolve it from. " +
                    "Register an instance with AddHandler(instance), or use services.AddSwitchboard(...) so handlers come from dependency injection.");
            }

            object instance = Activator.CreateInstance(handlerType)!;
            activator = Activator.CreateInstance(typeof(SingletonActivator<>).MakeGenericType(handlerType), instance)!;
        }

        foreach (Type handlerInterface in HandlerInterfaces(handlerType))
        {
            Type[] args = handlerInterface.GetGenericArguments();
            Type invokerType = args.Length == 1
                ? typeof(ClassInvoker<,>).MakeGenericType(handlerType, args[0])
                : typeof(ClassResultInvoker<,,>).MakeGenericType(handlerType, args[0], args[1]);
            yield return (HandlerInvoker)Activator.CreateInstance(invokerType, activator)!;
        }
    }

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    internal static IEnumerable<Type> HandlerInterfaces(Type type)
        => type.GetInterfaces().Where(i => i.IsGenericType &&
            (i.GetGenericTypeDefinition() == typeof(IHandler<>) || i.GetGenericTypeDefinition() == typeof(IHandler<,>)));

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    private static void EnsureHandlerType(Type handlerType)
    {
        if (!handlerType.IsClass || handlerType.IsAbstract || handlerType.ContainsGenericParameters)
        {
            throw new ArgumentException($"{handlerType.Name} must be a concrete, non-generic class to be registered as a handler.", nameof(handlerType));
        }

        if (!HandlerInterfaces(handlerType).Any())
        {
            throw new ArgumentException(
                $"{handlerType.Name} implements neither IHandler<TMessage> nor IHandler<TMessage, TResult>, so it handles nothing.", nameof(handlerType));
        }
    }

    private BusBuilder Add(HandlerInvoker invoker)
    {
        _registrations.Add(new DelegateRegistration(invoker));
        return this;
    }

    private static string DelegateName<T>(Delegate handler)
        => handler.Method.DeclaringType is { } declaring && !declaring.Name.StartsWith('<')
            ? $"{declaring.Name}.{handler.Method.Name}"
            : $"handler of {typeof(T).Name}";

    private abstract record Registration;

    private sealed record DelegateRegistration(HandlerInvoker Invoker) : Registration;

    private sealed record ClassRegistration(Type HandlerType, object? Instance) : Registration;
}
