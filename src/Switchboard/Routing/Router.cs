using System.Collections.Concurrent;
using Switchboard.Dispatch;
using Switchboard.Serialization;

namespace Switchboard.Routing;

/// <summary>
/// Decides, per concrete message type, which registered handlers a message reaches. Built once when the bus is built;
/// a type first seen at run time gets its route computed once from the same frozen registrations and cached.
/// </summary>
internal sealed class Router
{
    private readonly TypeMap<MessageRoute> _routes;
    private readonly ConcurrentDictionary<Type, MessageRoute> _lateRoutes = new();

    /// <summary>
    /// The late routes again, keyed by type handle like <see cref="_routes"/>: a message type without registered handlers
    /// (a stream's or a runtime subscription's event) is looked up here on every publish, without hashing a
    /// <see cref="Type"/>. Replaced as a whole when a route is added (rare); at most <see cref="LateTableLimit"/> routes.
    /// </summary>
    private TypeMap<MessageRoute>? _lateTable;
    private readonly Lock _lateGate = new();
    private readonly HandlerInvoker[] _registrations;
    private readonly MessageTypeRegistry _types;
    private readonly KeyValuePair<Type, string?>[] _transportRoutes;

    private readonly Pipeline.MiddlewarePipeline? _pipeline;

    public Router(IReadOnlyList<HandlerInvoker> registrations, MessageTypeRegistry types, IReadOnlyList<KeyValuePair<Type, string?>> transportRoutes, Pipeline.MiddlewarePipeline? pipeline = null)
    {
        _pipeline = pipeline;
        _registrations = [.. registrations];
        _types = types;
        _transportRoutes = [.. transportRoutes];

        Dictionary<Type, MessageRoute> routes = [];
        foreach (HandlerInvoker registration in _registrations)
        {
            Type type = registration.MessageType;
            if (!routes.ContainsKey(type) && !type.IsAbstract && !type.IsInterface)
            {
                routes[type] = Compute(type);
            }
        }

        _routes = new TypeMap<MessageRoute>(routes);
    }

    /// <summary>Gets the message types that have a handler registered for exactly their type.</summary>
    public IEnumerable<Type> HandledTypes => _routes.Values.Select(r => r.MessageType);

    /// <summary>Gets the transport destinations this process must consume: those of routed types it has handlers for.</summary>
    public IEnumerable<string> ConsumedDestinations
        => _routes.Values.Where(r => r.Destination is not null && r.Handlers.Length > 0).Select(r => r.Destination!).Distinct(StringComparer.Ordinal);

    /// <summary>Gets the routes of the types registered on the builder: the table the fast paths look messages up in.</summary>
    public TypeMap<MessageRoute> Table => _routes;

    /// <summary>Gets every route computed so far: the registered types' and those first seen at run time.</summary>
    public IEnumerable<MessageRoute> Routes => _routes.Values.Concat(_lateRoutes.Values);

    public MessageRoute GetRoute(Type messageType)
        => _routes.Find(messageType.TypeHandle.Value) ?? Volatile.Read(ref _lateTable)?.Find(messageType.TypeHandle.Value) ?? GetLateRoute(messageType);

    /// <summary>The route of a message's runtime type; the hot path of every publish, send and request.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public MessageRoute GetRoute(object message)
        => _routes.Find(ObjectHeader.TypeHandle(message)) ?? Volatile.Read(ref _lateTable)?.Find(ObjectHeader.TypeHandle(message)) ?? GetLateRoute(message.GetType());

    /// <summary>How many late routes <see cref="_lateTable"/> holds at most; types beyond it are found in the dictionary.</summary>
    private const int LateTableLimit = 256;

    private MessageRoute GetLateRoute(Type messageType)
    {
        MessageRoute route = _lateRoutes.GetOrAdd(messageType, static (type, router) => router.Compute(type), this);
        if (_lateRoutes.Count <= LateTableLimit)
        {
            lock (_lateGate)
            {
                TypeMap<MessageRoute>? table = _lateTable;
                if (table?.Find(messageType.TypeHandle.Value) is null && _lateRoutes.Count <= LateTableLimit)
                {
                    // A snapshot of the dictionary holds every route added so far, this one included.
                    Volatile.Write(ref _lateTable, new TypeMap<MessageRoute>([.. _lateRoutes]));
                }
            }
        }

        return route;
    }

    private MessageRoute Compute(Type type)
    {
        List<HandlerInvoker> all = [];
        List<HandlerInvoker> exact = [];
        foreach (HandlerInvoker registration in _registrations)
        {
            if (registration.MessageType.IsAssignableFrom(type))
            {
                // The handler in the incoming middleware that applies to this type (itself when none does).
                HandlerInvoker handler = _pipeline?.Wrap(type, registration) ?? registration;
                all.Add(handler);
                if (registration.MessageType == type)
                {
                    exact.Add(handler);
                }
            }
        }

        string name = _types.GetName(type);
        string? destination = null;
        foreach ((Type routed, string? explicitDestination) in _transportRoutes)
        {
            if (routed.IsAssignableFrom(type))
            {
                destination = explicitDestination ?? name;
                break;
            }
        }

        return new MessageRoute(type, name, [.. all], [.. exact], destination, _pipeline?.Outgoing(type));
    }
}
