using Switchboard;

namespace OpenTelemetry.Metrics;

/// <summary>Adds Switchboard's metrics to an OpenTelemetry meter provider.</summary>
public static class SwitchboardMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects the metrics of every Switchboard bus in the process (the <c>Switchboard</c> meter): handler durations, messages
    /// sent, consumed, retried and dead-lettered, handler errors, the outbox's latency, failures and backlog, and the
    /// transports' connection outages. The duration histograms come with bucket boundaries in seconds (5 ms to 10 s).
    /// </summary>
    /// <param name="builder">The meter provider builder, for example in <c>services.AddOpenTelemetry().WithMetrics(metrics =&gt; ...)</c>.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddSwitchboardInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(SwitchboardDiagnostics.MeterName);
    }
}
