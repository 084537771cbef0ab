using Confluent.Kafka;

namespace Switchboard.Kafka;

/// <summary>What a receiver knows of one assigned partition. Guarded by the receiver's lock.</summary>
internal sealed class PartitionState(TopicPartition partition)
{
    public TopicPartition Partition { get; } = partition;

    /// <summary>Records read and not yet behind the watermark, in offset order.</summary>
    public Queue<Tracked> Unsettled { get; } = new();

    /// <summary>Keys with an unsettled record, each with the later records of that key waiting behind it (null: none waits).</summary>
    public Dictionary<string, Queue<KafkaReceived>?> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>The offset after the last contiguous settled record (what is committed), or null before the first.</summary>
    public long? Watermark { get; set; }

    /// <summary>The watermark last given to librdkafka's offset store (for its background commit), or null before the first.</summary>
    public long? Stored { get; set; }

    /// <summary>Records handed to the bus and not yet settled or sent back for a retry.</summary>
    public int InFlight { get; set; }

    public bool Paused { get; set; }

    /// <summary>The partition is being given up: nothing more is handed out.</summary>
    public bool Revoking { get; set; }

    /// <summary>The partition has gone: settling a record no longer stores an offset.</summary>
    public bool Revoked { get; set; }

    /// <summary>The last offset known to be committed for the group (read at assignment, or committed by this member), if any.</summary>
    public TopicPartitionOffset? Committed { get; set; }

    /// <summary>Records below this offset may have been in flight at the partition's previous owner.</summary>
    public long PossiblyDeliveredBelow { get; set; } = -1;
}

/// <summary>One record read from a partition: its offset and whether it has been settled.</summary>
internal sealed class Tracked(long offset)
{
    public long Offset { get; } = offset;

    public bool Settled { get; set; }
}
