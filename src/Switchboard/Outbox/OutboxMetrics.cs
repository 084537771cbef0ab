using System.Diagnostics.Metrics;

namespace Switchboard.Outbox;

/// <summary>The outbox's instruments on the <c>Switchboard</c> meter.</summary>
internal static class OutboxMetrics
{
    private static readonly Lock s_gate = new();
    private static TransactionalOutbox[] s_outboxes = [];

    private static readonly Histogram<double> s_latency = SwitchboardDiagnostics.Meter.CreateHistogram(
        "switchboard.outbox.dispatch.latency", unit: "s", description: "Time from writing an outbox row to its dispatch being confirmed.", tags: null, advice: SwitchboardDiagnostics.SecondsAdvice);

    private static readonly Counter<long> s_failed = SwitchboardDiagnostics.Meter.CreateCounter<long>(
        "switchboard.outbox.dispatch.failures", unit: "{attempt}", description: "Outbox dispatch attempts that failed (retried or parked as dead).");

    private static readonly ObservableGauge<long> s_pending = SwitchboardDiagnostics.Meter.CreateObservableGauge(
        "switchboard.outbox.pending", ObservePending, unit: "{message}", description: "Outbox rows not yet dispatched, as last counted by the dispatcher.");

    public static void Register(TransactionalOutbox outbox)
    {
        lock (s_gate)
        {
            s_outboxes = [.. s_outboxes, outbox];
        }
    }

    public static void Unregister(TransactionalOutbox outbox)
    {
        lock (s_gate)
        {
            s_outboxes = Array.FindAll(s_outboxes, o => !ReferenceEquals(o, outbox));
        }
    }

    public static void RecordDispatched(string store, string bus, TimeSpan latency)
    {
        if (s_latency.Enabled)
        {
            s_latency.Record(
                Math.Max(0, latency.TotalSeconds),
                new KeyValuePair<string, object?>("switchboard.outbox.store", store),
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Bus, bus));
        }
    }

    public static void RecordFailed(string store, string bus)
    {
        if (s_failed.Enabled)
        {
            s_failed.Add(
                1,
                new KeyValuePair<string, object?>("switchboard.outbox.store", store),
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Bus, bus));
        }
    }

    private static IEnumerable<Measurement<long>> ObservePending()
    {
        TransactionalOutbox[] outboxes = Volatile.Read(ref s_outboxes);
        foreach (TransactionalOutbox outbox in outboxes)
        {
            yield return new Measurement<long>(
                outbox.LastPending,
                new KeyValuePair<string, object?>("switchboard.outbox.store", outbox.Store.Name),
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Bus, outbox.BusName));
        }
    }
}
