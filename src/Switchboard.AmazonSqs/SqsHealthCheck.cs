using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Reports whether SQS answers an <see cref="SqsTransport"/>: unhealthy while the transport's
/// <see cref="SqsTransport.ConnectionMonitor"/> reports an outage, or when a <c>ListQueues</c> under its prefix does not
/// answer within <see cref="SqsTransportOptions.HealthCheckTimeout"/> (the core <see cref="ConnectionHealthCheck"/>).
/// Credentials and endpoints are never reported.
/// </summary>
public sealed class SqsHealthCheck : IHealthCheck
{
    private readonly SqsTransport _transport;
    private readonly ConnectionHealthCheck _check;

    /// <summary>Creates the check.</summary>
    /// <param name="transport">The transport to check.</param>
    public SqsHealthCheck(SqsTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _check = new ConnectionHealthCheck(transport.ConnectionMonitor, ct => ProbeAsync(transport, ct), transport.Options.HealthCheckTimeout);
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!_transport.ConnectionMonitor.IsConnected)
        {
            // SQS has no connection that comes back by itself: ask once, so that an answer ends the outage even when nothing else calls.
            try
            {
                using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_transport.Options.HealthCheckTimeout);
                await _transport.PingAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Still down: the check below reports the outage.
            }
        }

        return await _check.CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> ProbeAsync(SqsTransport transport, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        await transport.PingAsync(cancellationToken).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture, $"SQS answered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.#} ms.");
    }
}
