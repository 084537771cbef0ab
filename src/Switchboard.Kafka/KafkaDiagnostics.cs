using System.Diagnostics.Metrics;
using Confluent.Kafka;

namespace Switchboard.Kafka;

/// <summary>The Kafka transport's own instruments, on the <c>Switchboard</c> meter: how often the brokers became unreachable and came back.</summary>
internal static class KafkaDiagnostics
{
    private static readonly Meter Meter = new(SwitchboardDiagnostics.MeterName);

    internal static readonly Counter<long> ConnectionFailures = Meter.CreateCounter<long>(
        "switchboard.kafka.connection.failures", unit: "{failure}", description: "Times every Kafka broker became unreachable (an outage begins).");

    internal static readonly Counter<long> ConnectionRestorations = Meter.CreateCounter<long>(
        "switchboard.kafka.connection.restorations", unit: "{restoration}", description: "Times a Kafka broker answered again after an outage (an outage ends).");

    internal static readonly KeyValuePair<string, object?> System = new("messaging.system", "kafka");
}

/// <summary>
/// Whether the transport's clients reach a broker. librdkafka reconnects by itself and reports only the loss
/// (<c>_ALL_BROKERS_DOWN</c>); the outage ends when a client next hears from a broker (a delivery, a fetch, an assignment).
/// </summary>
internal sealed class KafkaConnectionHealth
{
    private int _down;

    public bool IsDown => Volatile.Read(ref _down) != 0;

    /// <summary>The last error's code, for the health check (never its text: it can name brokers).</summary>
    public ErrorCode LastError { get; private set; }

    public void OnError(Error error)
    {
        LastError = error.Code;
        if ((error.Code == ErrorCode.Local_AllBrokersDown || error.IsFatal) && Interlocked.Exchange(ref _down, 1) == 0)
        {
            KafkaDiagnostics.ConnectionFailures.Add(1, KafkaDiagnostics.System);
        }
    }

    public void OnDelivered()
    {
        if (Volatile.Read(ref _down) != 0 && Interlocked.Exchange(ref _down, 0) != 0)
        {
            KafkaDiagnostics.ConnectionRestorations.Add(1, KafkaDiagnostics.System);
        }
    }
}
