using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.Postgres;

/// <summary>
/// The health of the store's <c>LISTEN</c> connection, registered by <c>services.AddHealthChecks().AddSwitchboard()</c> next to
/// the outbox's own check (which reports the database and the backlog).
/// </summary>
public sealed partial class PostgresOutboxStore : IHealthCheckSource
{
    private readonly Lock _listenersGate = new();
    private Listener[] _listeners = [];

    /// <inheritdoc />
    public IReadOnlyList<ComponentHealthCheck> GetHealthChecks()
        => [new("outbox:postgres:listener", new ListenerHealthCheck(this), ["outbox", "postgres", "listener"])];

    private void Track(Listener listener)
    {
        lock (_listenersGate)
        {
            _listeners = [.. _listeners, listener];
        }
    }

    private void Untrack(Listener listener)
    {
        lock (_listenersGate)
        {
            _listeners = Array.FindAll(_listeners, l => !ReferenceEquals(l, listener));
        }
    }

    /// <summary>
    /// Healthy while every listener of the store listens (or none runs: no dispatcher was started on it); Degraded while a
    /// listener's connection is lost and being reopened: the dispatcher then finds other processes' commits by polling only.
    /// </summary>
    private sealed class ListenerHealthCheck(PostgresOutboxStore store) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Listener[] listeners = Volatile.Read(ref store._listeners);
            int lost = Array.FindAll(listeners, l => l.Lost).Length;
            Dictionary<string, object> data = new(StringComparer.Ordinal) { ["listeners"] = listeners.Length, ["lost"] = lost };
            HealthCheckResult result = listeners.Length == 0
                ? HealthCheckResult.Healthy("No dispatcher listens on this store (none was started, or it is still starting).", data)
                : lost > 0
                    ? HealthCheckResult.Degraded(
                        $"The LISTEN connection to PostgreSQL is lost and being reopened ({lost} of {listeners.Length}); meanwhile commits of other processes are found by polling.",
                        data: data)
                    : HealthCheckResult.Healthy($"Listening on channel {store._channel}.", data);
            return Task.FromResult(result);
        }
    }
}
