using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.Outbox;

/// <summary>
/// Reports the outbox: unhealthy when its database does not answer, degraded when the backlog grows past
/// <see cref="OutboxOptions.HealthyBacklog"/> or the oldest pending row is older than <see cref="OutboxOptions.HealthyAge"/>,
/// or when rows are parked as dead. A database that has not answered within <see cref="OutboxOptions.HealthCheckTimeout"/> is
/// reported unhealthy then, even while its client is still waiting. The connection string is never reported.
/// </summary>
/// <param name="outbox">The outbox to check.</param>
public sealed class OutboxHealthCheck(IOutbox outbox) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        OutboxOptions options = (outbox as TransactionalOutbox)?.Options ?? new OutboxOptions();
        HealthStatus failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        OutboxStatistics statistics;
        using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HealthCheckTimeout);
        try
        {
            // WaitAsync as well as the token: a database client can hold the call past its cancellation (Npgsql's
            // synchronous cancel request over a stalled network).
            statistics = await outbox.GetStatisticsAsync(timeout.Token).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(
                failure,
                string.Create(CultureInfo.InvariantCulture, $"The outbox database ({outbox.Store.Name}) did not answer within {options.HealthCheckTimeout.TotalSeconds:0.###} s."));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The exception's type only: database messages can name hosts and users.
            return new HealthCheckResult(failure, $"The outbox database ({outbox.Store.Name}) did not answer ({ex.GetType().Name}).");
        }

        Dictionary<string, object> data = new(StringComparer.Ordinal)
        {
            ["pending"] = statistics.Pending,
            ["dead"] = statistics.Dead,
            ["oldestPendingSeconds"] = statistics.OldestPendingAge.TotalSeconds,
        };

        string summary = string.Create(CultureInfo.InvariantCulture, $"{statistics.Pending} pending (oldest {statistics.OldestPendingAge.TotalSeconds:0.#} s), {statistics.Dead} dead.");
        if (statistics.Pending > options.HealthyBacklog || statistics.OldestPendingAge > options.HealthyAge)
        {
            return HealthCheckResult.Degraded($"The outbox backlog is growing: {summary}", data: data);
        }

        if (statistics.Dead > 0)
        {
            return HealthCheckResult.Degraded($"The outbox has dead rows to look at: {summary}", data: data);
        }

        return HealthCheckResult.Healthy(summary, data);
    }
}
