using Switchboard.Routing;

namespace Switchboard;

/// <summary>Per-message-type partition keys: which key a message carries to a transport.</summary>
public sealed partial class BusBuilder
{
    private readonly List<KeyValuePair<Type, Func<object, string?>>> _partitionKeySelectors = [];

    /// <summary>
    /// Gives messages of type <typeparamref name="T"/> (and of types derived from it) a partition key chosen by
    /// <paramref name="key"/>. Transports deliver the messages of one key in the order sent (Kafka: one partition; the bus's
    /// consumer: one lane), so every message of one order, account or customer can be kept in order without deriving from
    /// <see cref="DomainEvent"/>.
    /// </summary>
    /// <remarks>
    /// A key given for one message (<see cref="Outbox.OutboxMessageOptions.PartitionKey"/>) wins over the selector; the selector wins over a
    /// <see cref="DomainEvent"/>'s <see cref="DomainEvent.AggregateId"/>. A selector returning <see langword="null"/> or an
    /// empty string gives the message no key. When selectors are registered for several types a message is assignable to,
    /// the one for its nearest base type wins, then the one registered last. Registering <typeparamref name="T"/> again
    /// replaces its selector. The selector runs once per message sent to a transport; keep it cheap and free of side effects.
    /// </remarks>
    /// <typeparam name="T">The message type (a class, record, or interface the messages implement).</typeparam>
    /// <param name="key">Returns the message's partition key.</param>
    /// <returns>This builder.</returns>
    public BusBuilder PartitionBy<T>(Func<T, string?> key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _partitionKeySelectors.RemoveAll(static s => s.Key == typeof(T));
        _partitionKeySelectors.Add(new KeyValuePair<Type, Func<object, string?>>(typeof(T), message => key((T)message)));
        return this;
    }

    internal PartitionKeys CreatePartitionKeys() => new(_partitionKeySelectors);
}
