using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>Reports whether the Redis behind a <see cref="RedisTransport"/> answers <c>PING</c>, and how fast. The connection string is never reported.</summary>
/// <param name="transport">The transport to check.</param>
public sealed class RedisHealthCheck(RedisTransport transport) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        try
        {
            IConnectionMultiplexer connection = await transport.GetConnectionAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!connection.IsConnected)
            {
                return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, "Redis is not connected; the transport is reconnecting.");
            }

            TimeSpan latency = await connection.GetDatabase().PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis answered PING in {latency.TotalMilliseconds:0.###} ms.");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The exception's type only: StackExchange.Redis messages can name endpoints and options.
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, $"Redis did not answer PING ({ex.GetType().Name}).");
        }
    }
}
