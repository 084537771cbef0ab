using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>
/// Reports whether the brokers behind a <see cref="KafkaTransport"/> are reachable: unhealthy while the transport's
/// <see cref="KafkaTransport.ConnectionMonitor"/> reports an outage, or when no broker answers a metadata request within
/// <see cref="KafkaTransportOptions.HealthCheckTimeout"/> (the core <see cref="ConnectionHealthCheck"/>). Bootstrap servers
/// and credentials are never reported.
/// </summary>
public sealed class KafkaHealthCheck : IHealthCheck
{
    private readonly ConnectionHealthCheck _check;

    /// <summary>Creates the check.</summary>
    /// <param name="transport">The transport to check.</param>
    public KafkaHealthCheck(KafkaTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _check = new ConnectionHealthCheck(transport.ConnectionMonitor, ct => ProbeAsync(transport, ct), transport.Options.HealthCheckTimeout);
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => _check.CheckHealthAsync(context, cancellationToken);

    private static Task<string> ProbeAsync(KafkaTransport transport, CancellationToken cancellationToken)
        => Task.Run(() =>
        {
            ObjectDisposedException.ThrowIf(transport.IsDisposed, transport);
            int brokers = transport.ProbeBrokers(transport.Options.HealthCheckTimeout);
            if (brokers == 0)
            {
                throw new InvalidOperationException("No Kafka broker answered; the transport keeps reconnecting.");
            }

            return string.Create(CultureInfo.InvariantCulture, $"Kafka answered a metadata request ({brokers} broker(s)).");
        }, cancellationToken);
}
