using Switchboard;

namespace OpenTelemetry.Trace;

/// <summary>Adds Switchboard's spans to an OpenTelemetry tracer provider.</summary>
public static class SwitchboardTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects the spans of every Switchboard bus in the process (the <c>Switchboard</c> activity source): <c>publish</c> and
    /// <c>send</c> (producer), <c>receive</c> and <c>process</c> (consumer), and the outbox's <c>dispatch</c>. A message sent
    /// through a transport carries its trace in the <c>traceparent</c> header, so the consumer's spans, in this or another
    /// process, belong to the producer's trace.
    /// </summary>
    /// <param name="builder">The tracer provider builder, for example in <c>services.AddOpenTelemetry().WithTracing(tracing =&gt; ...)</c>.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddSwitchboardInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(SwitchboardDiagnostics.SourceName);
    }
}
