using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>
/// Feeds the transport's <see cref="ConnectionMonitor"/> (the core outage counters and state, tagged <c>messaging.system = kafka</c>).
/// librdkafka reconnects by itself and reports only the loss (<c>_ALL_BROKERS_DOWN</c>); the outage ends when a client next
/// hears from a broker (a delivery, a fetched record, an assignment). A flag keeps that check off the monitor's lock per record.
/// </summary>
internal sealed class KafkaConnectionHealth(ConnectionMonitor monitor)
{
    private int _down;

    public void OnError(Error error)
    {
        if (error.Code == ErrorCode.Local_AllBrokersDown || error.IsFatal)
        {
            Volatile.Write(ref _down, 1);
            // The code only: librdkafka's reason texts can name brokers.
            monitor.ReportLost(new KafkaException(new Error(error.Code)));
        }
    }

    public void OnDelivered()
    {
        if (Volatile.Read(ref _down) != 0 && Interlocked.Exchange(ref _down, 0) != 0)
        {
            monitor.ReportRestored();
        }
    }
}

/// <summary>OpenTelemetry messaging attributes of a Kafka record (semantic conventions for Kafka).</summary>
internal static class KafkaTags
{
    /// <summary>The partition, as a string (the conventions' type for every system's partition id).</summary>
    public const string PartitionId = "messaging.destination.partition.id";

    public const string Offset = "messaging.kafka.offset";

    public const string MessageKey = "messaging.kafka.message.key";
}
