using System.Diagnostics.Metrics;

namespace Switchboard.Postgres;

/// <summary>The PostgreSQL outbox's own instruments, on the <c>Switchboard</c> meter: how often the LISTEN connection broke and came back.</summary>
internal static class PostgresDiagnostics
{
    private static readonly Meter Meter = new(SwitchboardDiagnostics.MeterName);

    internal static readonly Counter<long> ListenerFailures = Meter.CreateCounter<long>(
        "switchboard.postgres.listener.failures", unit: "{failure}", description: "Times the outbox's LISTEN connection to PostgreSQL was lost (commits of other processes are then found by polling).");

    internal static readonly Counter<long> ListenerRestorations = Meter.CreateCounter<long>(
        "switchboard.postgres.listener.restorations", unit: "{restoration}", description: "Times the outbox's LISTEN connection was opened again after a loss.");
}
