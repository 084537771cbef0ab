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

    /// <summary>Gets the incoming and outgoing middleware, in order (<c>UseIncoming</c>, <c>UseOutgoing</c>).</summary>
    internal Pipeline.MiddlewareRegistry Middleware { get; } = new();

    internal IReadOnlyList<KeyValuePair<Type, string?>> MessageTypes => _messageTypes;

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
