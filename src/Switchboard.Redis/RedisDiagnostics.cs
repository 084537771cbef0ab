using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>The Redis transport's own instruments, on the <c>Switchboard</c> meter: how often the connection broke and came back.</summary>
internal static class RedisDiagnostics
{
    private static readonly Meter Meter = new(SwitchboardDiagnostics.MeterName);

    internal static readonly Counter<long> ConnectionFailures = Meter.CreateCounter<long>(
        "switchboard.redis.connection.failures", unit: "{failure}", description: "Times the connection to Redis broke (an outage begins).");

    internal static readonly Counter<long> ConnectionRestorations = Meter.CreateCounter<long>(
        "switchboard.redis.connection.restorations", unit: "{restoration}", description: "Times the connection to Redis came back (an outage ends).");

    private static readonly KeyValuePair<string, object?> System = new("messaging.system", "redis");

    /// <summary>Counts the outages of a connection (its interactive link only, so one outage counts once).</summary>
    public static void Observe(IConnectionMultiplexer connection)
    {
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionFailures.Add(1, System);
            }
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionRestorations.Add(1, System);
            }
        };
    }
}
