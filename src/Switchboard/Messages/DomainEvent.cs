namespace Switchboard;

/// <summary>
/// An event raised by an aggregate. Its <see cref="AggregateId"/> is the partition and ordering key on transports
/// that keep order per key, and <see cref="AggregateType"/> with the event's name forms the routing key on
/// exchange-routed brokers (<c>{AggregateType}.{EventType}</c>).
/// </summary>
public abstract record DomainEvent
{
    /// <summary>Gets the identifier of the aggregate that raised the event.</summary>
    public string AggregateId { get; init; } = string.Empty;

    /// <summary>Gets the kind of aggregate that raised the event, for example <c>Order</c>.</summary>
    public string AggregateType { get; init; } = string.Empty;

    /// <summary>Gets the aggregate's version after this event; 0 when not versioned.</summary>
    public long AggregateVersion { get; init; }

    // Created by application code, before any bus sees it: the system clock, unless the application sets it from its own TimeProvider.

    /// <summary>Gets the moment the event happened.</summary>
    public DateTimeOffset OccurredAt { get; init; } = TimeProvider.System.GetUtcNow();
}
