using System.Collections.Concurrent;

namespace Switchboard.Routing;

/// <summary>
/// Chooses the partition key of a message sent to a transport: the selector registered with
/// <see cref="BusBuilder.PartitionBy{T}(Func{T, string?})"/> for its type (or a base type or interface), else a
/// <see cref="DomainEvent"/>'s aggregate id. The selector of a runtime type is found once and cached.
/// </summary>
internal sealed class PartitionKeys
{
    private static readonly Func<object, string?> NoSelector = static _ => null;
    private readonly KeyValuePair<Type, Func<object, string?>>[] _selectors;
    private readonly ConcurrentDictionary<Type, Func<object, string?>> _byType = new();

    public PartitionKeys(IEnumerable<KeyValuePair<Type, Func<object, string?>>> selectors)
    {
        _selectors = [.. selectors];
    }

    public static PartitionKeys None { get; } = new([]);

    /// <summary>Returns the message's key, or <see langword="null"/> when it has none.</summary>
    public string? For(object message)
    {
        if (_selectors.Length > 0)
        {
            Func<object, string?> selector = _byType.GetOrAdd(message.GetType(), Find, _selectors);
            if (!ReferenceEquals(selector, NoSelector))
            {
                return selector(message) is { Length: > 0 } key ? key : null;
            }
        }

        return (message as DomainEvent)?.AggregateId is { Length: > 0 } aggregateId ? aggregateId : null;
    }

    /// <summary>The selector for a runtime type: of the registered types it is assignable to, the nearest base type, then the last registered.</summary>
    private static Func<object, string?> Find(Type type, KeyValuePair<Type, Func<object, string?>>[] selectors)
    {
        Func<object, string?> found = NoSelector;
        int best = int.MaxValue;
        for (int i = 0; i < selectors.Length; i++)
        {
            (Type registered, Func<object, string?> selector) = selectors[i];
            if (!registered.IsAssignableFrom(type))
            {
                continue;
            }

            int distance = Distance(type, registered);
            if (distance <= best)
            {
                best = distance;
                found = selector;
            }
        }

        return found;
    }

    /// <summary>How many base-type steps from <paramref name="type"/> up to <paramref name="registered"/>; interfaces rank after every class.</summary>
    private static int Distance(Type type, Type registered)
    {
        int steps = 0;
        for (Type? current = type; current is not null; current = current.BaseType, steps++)
        {
            if (current == registered)
            {
                return steps;
            }
        }

        return 1000; // an interface
    }
}
