using System.Collections.Concurrent;
using System.Collections.Frozen;
using Switchboard.Dispatch;
using Switchboard.Serialization;

namespace Switchboard.Routing;

/// <summary>
/// Decides, per concrete message type, which registered handlers a message reaches. Built once when the bus is built;
/// a type first seen at run time gets its route computed once from the same frozen registrations and cached.
/// </summary>
internal sealed class Router
{
    private readonly FrozenDictionary<Type, MessageRoute> _routes;
    private readonly ConcurrentDictionary<Type, MessageRoute> _lateRoutes = new();
    private readonly HandlerInvoker[] _registrations;
    private readonly MessageTypeRegistry _types;

    public Router(IReadOnlyList<HandlerInvoker> registrations, MessageTypeRegistry types)
    {
        _registrations = [.. registrations];
        _types = types;

        Dictionary<Type, MessageRoute> routes = [];
        foreach (HandlerInvoker registration in _registrations)
        {
            Type type = registration.MessageType;
            if (!routes.ContainsKey(type) && !type.IsAbstract && !type.IsInterface)
            {
                routes[type] = Compute(type);
            }
        }

        _routes = routes.ToFrozenDictionary();
    }

    /// <summary>Gets the message types that have a handler registered for exactly their type.</summary>
    public IEnumerable<Type> HandledTypes => _routes.Keys;

    public MessageRoute GetRoute(Type messageType)
        => _routes.TryGetValue(messageType, out MessageRoute? route) ? route : GetLateRoute(messageType);

    private MessageRoute GetLateRoute(Type messageType)
        => _lateRoutes.GetOrAdd(messageType, static (type, router) => router.Compute(type), this);

    private MessageRoute Compute(Type type)
    {
        List<HandlerInvoker> all = [];
        List<HandlerInvoker> exact = [];
        foreach (HandlerInvoker registration in _registrations)
        {
            if (registration.MessageType.IsAssignableFrom(type))
            {
                all.Add(registration);
                if (registration.MessageType == type)
                {
                    exact.Add(registration);
                }
            }
        }

        return new MessageRoute(type, _types.GetName(type), [.. all], [.. exact]);
    }
}
