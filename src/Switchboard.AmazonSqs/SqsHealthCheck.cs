using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.AmazonSqs;

/// <summary>Reports whether SQS answers the transport (a <c>ListQueues</c> under its prefix), and how fast. Credentials and endpoints are never reported.</summary>
/// <param name="transport">The transport to check.</param>
public sealed class SqsHealthCheck(SqsTransport transport) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        HealthStatus failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        long started = Stopwatch.GetTimestamp();
        try
        {
            using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await transport.PingAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"SQS answered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.#} ms.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The exception's type only: SDK messages can name endpoints.
            return new HealthCheckResult(failure, $"SQS did not answer ({ex.GetType().Name}); the transport's receivers back off and retry.");
        }
    }
}
