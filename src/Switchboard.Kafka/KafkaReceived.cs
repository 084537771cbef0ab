using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>One delivery of a Kafka record to the bus; a retry hands out a new delivery of the same record.</summary>
internal sealed class KafkaReceived(KafkaReceiver receiver, PartitionState state, Tracked tracked, TransportMessage message, int deliveryCount)
    : ReceivedMessage(message, deliveryCount)
{
    public PartitionState State { get; } = state;

    public Tracked Tracked { get; } = tracked;

    /// <inheritdoc />
    /// <remarks>The record's partition and offset, and its key when it has one (OpenTelemetry's Kafka attributes).</remarks>
    public override IReadOnlyList<KeyValuePair<string, object?>> TransportTags => Message.PartitionKey is { } key
        ?
        [
            new(KafkaTags.PartitionId, KafkaWire.Format(State.Partition.Partition.Value)),
            new(KafkaTags.Offset, Tracked.Offset),
            new(KafkaTags.MessageKey, key),
        ]
        :
        [
            new(KafkaTags.PartitionId, KafkaWire.Format(State.Partition.Partition.Value)),
            new(KafkaTags.Offset, Tracked.Offset),
        ];

    /// <summary>Whether the bus holds this delivery (guarded by the receiver's lock).</summary>
    public bool Handed { get; set; }

    public override ValueTask AckAsync(CancellationToken cancellationToken)
    {
        receiver.Settle(this);
        return ValueTask.CompletedTask;
    }

    public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => receiver.RetryAsync(this, delay);

    public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return receiver.DeadLetterAsync(this, reason, cancellationToken);
    }
}
