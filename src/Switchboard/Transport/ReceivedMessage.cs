namespace Switchboard.Transport;

/// <summary>
/// A message handed to one consumer and not yet settled. Exactly one of <see cref="AckAsync"/>,
/// <see cref="RetryAsync"/> or <see cref="DeadLetterAsync"/> settles it; a message never settled is delivered again.
/// </summary>
public abstract class ReceivedMessage
{
    /// <summary>Creates a received message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="deliveryCount">How many times it has been delivered, this time included (1 for the first).</param>
    protected ReceivedMessage(TransportMessage message, int deliveryCount)
    {
        ArgumentNullException.ThrowIfNull(message);
        Message = message;
        DeliveryCount = deliveryCount;
    }

    /// <summary>Gets the message.</summary>
    public TransportMessage Message { get; }

    /// <summary>Gets how many times the message has been delivered, this time included.</summary>
    public int DeliveryCount { get; }

    /// <summary>
    /// Gets what the transport knows of this delivery beyond the message, as OpenTelemetry attribute names and values (for
    /// Kafka: <c>messaging.destination.partition.id</c>, <c>messaging.kafka.offset</c>, <c>messaging.kafka.message.key</c>).
    /// The bus's consumer adds them to the span of the message's handling; it reads them only when that span is recorded,
    /// so an override may build them on demand.
    /// </summary>
    /// <value>Empty unless the transport overrides it.</value>
    public virtual IReadOnlyList<KeyValuePair<string, object?>> TransportTags => [];

    /// <summary>Acknowledges the message: its handlers succeeded, and the broker may forget it.</summary>
    /// <param name="cancellationToken">Cancels waiting for the broker.</param>
    /// <returns>A task that completes when the broker has the acknowledgement.</returns>
    public abstract ValueTask AckAsync(CancellationToken cancellationToken);

    /// <summary>Returns the message for another delivery after <paramref name="delay"/>, with the delivery count increased.</summary>
    /// <param name="delay">How long to wait before the message is delivered again.</param>
    /// <param name="cancellationToken">Cancels waiting for the broker.</param>
    /// <returns>A task that completes when the retry is scheduled durably.</returns>
    public abstract ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>Moves the message to its group's dead-letter queue with the reason, then acknowledges it.</summary>
    /// <param name="reason">Why the message failed.</param>
    /// <param name="cancellationToken">Cancels waiting for the broker.</param>
    /// <returns>A task that completes when the dead-letter entry is stored.</returns>
    public abstract ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken);
}
