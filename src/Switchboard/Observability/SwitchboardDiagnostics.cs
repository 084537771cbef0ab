using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Switchboard;

/// <summary>
/// The names under which Switchboard reports traces and metrics, following the OpenTelemetry messaging semantic
/// conventions. Add <see cref="SourceName"/> to a tracer provider and <see cref="MeterName"/> to a meter provider.
/// </summary>
public static class SwitchboardDiagnostics
{
    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> name: <c>Switchboard</c>.</summary>
    public const string SourceName = "Switchboard";

    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name: <c>Switchboard</c>.</summary>
    public const string MeterName = "Switchboard";

    private static readonly string s_version = typeof(SwitchboardDiagnostics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    internal static readonly ActivitySource ActivitySource = new(SourceName, s_version);

    internal static readonly Meter Meter = new(MeterName, s_version);

    /// <summary>
    /// Bucket boundaries in seconds for the duration histograms (the OpenTelemetry messaging conventions' advice): a
    /// listener's defaults are meant for milliseconds and would put every message in the first bucket.
    /// </summary>
    internal static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    };

    internal static readonly Histogram<double> ProcessDuration = Meter.CreateHistogram(
        "messaging.process.duration", unit: "s", description: "Duration of handling one message by one handler.", tags: null, advice: SecondsAdvice);

    internal static readonly Counter<long> SentMessages = Meter.CreateCounter<long>(
        "messaging.client.sent.messages", unit: "{message}", description: "Messages sent to a transport and confirmed.");

    internal static readonly Counter<long> ConsumedMessages = Meter.CreateCounter<long>(
        "messaging.client.consumed.messages", unit: "{message}", description: "Messages received from a transport.");

    internal static readonly Counter<long> HandlerErrors = Meter.CreateCounter<long>(
        "switchboard.handler.errors", unit: "{error}", description: "Handler invocations that threw.");

    internal static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>(
        "switchboard.deadlettered.messages", unit: "{message}", description: "Messages moved to a dead-letter queue.");

    internal static readonly Counter<long> Retried = Meter.CreateCounter<long>(
        "switchboard.retried.messages", unit: "{message}", description: "Deliveries scheduled for a retry after a failure.");

    internal static readonly Counter<long> AcknowledgementFailures = Meter.CreateCounter<long>(
        "switchboard.acknowledgement.failures", unit: "{message}", description: "Messages handled successfully whose acknowledgement the broker did not take; left to be delivered again.");

    /// <summary>The attribute names used on spans and metrics.</summary>
    internal static class Tags
    {
        public const string System = "messaging.system";
        public const string OperationName = "messaging.operation.name";
        public const string OperationType = "messaging.operation.type";
        public const string Destination = "messaging.destination.name";
        public const string MessageId = "messaging.message.id";
        public const string ConversationId = "messaging.message.conversation_id";
        public const string ConsumerGroup = "messaging.consumer.group.name";
        public const string BodySize = "messaging.message.body.size";
        public const string DeliveryCount = "messaging.message.delivery_count";
        public const string Handler = "switchboard.handler";
        public const string Bus = "switchboard.bus";
        public const string ErrorType = "error.type";
    }
}
