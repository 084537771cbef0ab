using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>
/// Reports whether the Redis behind a <see cref="RedisTransport"/> is reachable: unhealthy while the transport's
/// <see cref="RedisTransport.ConnectionMonitor"/> reports an outage, or when Redis does not answer <c>PING</c> within
/// <see cref="RedisTransportOptions.HealthCheckTimeout"/> (the core <see cref="ConnectionHealthCheck"/>). The connection
/// string is never reported.
/// </summary>
public sealed class RedisHealthCheck : IHealthCheck
{
    private readonly ConnectionHealthCheck _check;

    /// <summary>Creates the check.</summary>
    /// <param name="transport">The transport to check.</param>
    public RedisHealthCheck(RedisTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _check = new ConnectionHealthCheck(transport.ConnectionMonitor, ct => PingAsync(transport, ct), transport.Options.HealthCheckTimeout);
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => _check.CheckHealthAsync(context, cancellationToken);

    private static async Task<string> PingAsync(RedisTransport transport, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer connection = await transport.GetConnectionAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!connection.IsConnected)
        {
            throw new InvalidOperationException("Redis is not connected; the transport is reconnecting.");
        }

        TimeSpan latency = await connection.GetDatabase().PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture, $"Redis answered PING in {latency.TotalMilliseconds:0.###} ms.");
    }
}
