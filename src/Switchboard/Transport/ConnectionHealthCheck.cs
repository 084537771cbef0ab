using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.Transport;

/// <summary>
/// The health check every transport shares: unhealthy while its <see cref="ConnectionMonitor"/> reports an outage, or
/// when a probe of the broker (a <c>PING</c>, a channel check) fails or does not answer within the probe timeout;
/// healthy otherwise. Only exception type names are reported: client messages can name hosts and credentials.
/// </summary>
public sealed class ConnectionHealthCheck : IHealthCheck
{
    /// <summary>The probe timeout when none is given: 5 seconds.</summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly ConnectionMonitor _monitor;
    private readonly Func<CancellationToken, Task<string>> _probe;
    private readonly TimeSpan _probeTimeout;

    /// <summary>Creates the check.</summary>
    /// <param name="monitor">The transport's connection monitor.</param>
    /// <param name="probe">
    /// Asks the broker whether it answers and returns a description for a healthy result; throws (any exception) when it
    /// does not. It is cancelled after <paramref name="probeTimeout"/>: a stalled network reports unhealthy in time.
    /// </param>
    /// <param name="probeTimeout">How long the probe may take; <see cref="DefaultProbeTimeout"/> when <see langword="null"/>.</param>
    public ConnectionHealthCheck(ConnectionMonitor monitor, Func<CancellationToken, Task<string>> probe, TimeSpan? probeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(probe);
        TimeSpan timeout = probeTimeout ?? DefaultProbeTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(probeTimeout));
        _monitor = monitor;
        _probe = probe;
        _probeTimeout = timeout;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        HealthStatus failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        string system = _monitor.System;
        Dictionary<string, object> data = new(StringComparer.Ordinal)
        {
            ["system"] = system,
            ["outages"] = _monitor.Outages,
        };
        if (!_monitor.IsConnected)
        {
            TimeSpan down = _monitor.GetOutageDuration();
            data["outageSeconds"] = down.TotalSeconds;
            string cause = _monitor.LastFailure is { } type ? $" ({type})" : string.Empty;
            return new HealthCheckResult(
                failure,
                string.Create(CultureInfo.InvariantCulture, $"The connection to {system} is down for {down.TotalSeconds:0.#} s{cause}; the transport is reconnecting."),
                data: data);
        }

        using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_probeTimeout);
        try
        {
            string description = await _probe(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy(description, data);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return new HealthCheckResult(
                failure,
                string.Create(CultureInfo.InvariantCulture, $"{system} did not answer within {_probeTimeout.TotalSeconds:0.###} s."),
                data: data);
        }
        catch (Exception ex)
        {
            return new HealthCheckResult(failure, $"{system} did not answer ({ex.GetType().Name}).", data: data);
        }
    }
}
