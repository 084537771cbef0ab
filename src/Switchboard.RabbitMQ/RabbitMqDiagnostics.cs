using System.Diagnostics.Metrics;
using RabbitMQ.Client;

namespace Switchboard.RabbitMQ;

/// <summary>The RabbitMQ transport's own instruments, on the <c>Switchboard</c> meter: how often the connection broke and came back.</summary>
internal static class RabbitMqDiagnostics
{
    private static readonly Meter Meter = new(SwitchboardDiagnostics.MeterName);

    internal static readonly Counter<long> ConnectionFailures = Meter.CreateCounter<long>(
        "switchboard.rabbitmq.connection.failures", unit: "{failure}", description: "Times the connection to RabbitMQ broke (an outage begins).");

    internal static readonly Counter<long> ConnectionRestorations = Meter.CreateCounter<long>(
        "switchboard.rabbitmq.connection.restorations", unit: "{restoration}", description: "Times the client recovered the connection to RabbitMQ (an outage ends).");

    private static readonly KeyValuePair<string, object?> System = new("messaging.system", "rabbitmq");

    /// <summary>Counts the outages of a connection; closing it on purpose is not one.</summary>
    public static void Observe(IConnection connection)
    {
        connection.ConnectionShutdownAsync += (_, e) =>
        {
            if (e.Initiator != ShutdownInitiator.Application)
            {
                ConnectionFailures.Add(1, System);
            }

            return Task.CompletedTask;
        };
        connection.RecoverySucceededAsync += (_, _) =>
        {
            ConnectionRestorations.Add(1, System);
            return Task.CompletedTask;
        };
    }
}
