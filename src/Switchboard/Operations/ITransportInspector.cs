namespace Switchboard.Operations;

/// <summary>
/// An optional capability of a transport (or any other source of messages): it reports how far one consumer group of one
/// destination is. What the broker cannot tell stays <see langword="null"/>; nothing is guessed.
/// </summary>
public interface ITransportInspector
{
    /// <summary>Reads the backlog, in-flight and consumer numbers of one consumer group of a destination.</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The numbers.</returns>
    ValueTask<DestinationInfo> InspectAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default);
}

/// <summary>How far one consumer group of one destination is. <see langword="null"/> means the source cannot tell.</summary>
public sealed record DestinationInfo
{
    /// <summary>Gets the messages waiting to be delivered to the group.</summary>
    public long? Backlog { get; init; }

    /// <summary>Gets the messages delivered to the group's consumers and not yet settled.</summary>
    public long? InFlight { get; init; }

    /// <summary>Gets the messages sent with a delay that has not passed yet, where the broker counts them apart (SQS).</summary>
    public long? Delayed { get; init; }

    /// <summary>Gets how many messages the group is behind the end of the destination, where the broker counts it (Redis, Kafka).</summary>
    public long? Lag { get; init; }

    /// <summary>Gets how long the oldest waiting message has waited, where the source knows (the outbox).</summary>
    public TimeSpan? OldestAge { get; init; }

    /// <summary>Gets the consumers connected to the group.</summary>
    public int? Consumers { get; init; }

    /// <summary>Gets the last error the source knows of (for a broker: the newest dead letter's reason), or <see langword="null"/>.</summary>
    public string? LastError { get; init; }

    /// <summary>Gets when <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }
}
