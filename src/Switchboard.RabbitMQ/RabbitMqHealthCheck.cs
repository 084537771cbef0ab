using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace Switchboard.RabbitMQ;

/// <summary>Reports whether the connection of a <see cref="RabbitMqTransport"/> is open. The URI is never reported.</summary>
/// <param name="transport">The transport to check.</param>
public sealed class RabbitMqHealthCheck(RabbitMqTransport transport) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        HealthStatus failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        try
        {
            IConnection connection = await transport.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            return connection.IsOpen
                ? HealthCheckResult.Healthy("RabbitMQ connection is open.")
                : new HealthCheckResult(failure, "RabbitMQ connection is closed; the client is recovering it.");
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
        {
            // The exception's type only: client messages can name endpoints.
            return new HealthCheckResult(failure, $"RabbitMQ is not connected ({ex.GetType().Name}).");
        }
    }
}
