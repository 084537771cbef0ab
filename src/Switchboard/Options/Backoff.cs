namespace Switchboard;

/// <summary>
/// The one back-off formula of the bus: <c>min(initial × factor^(attempt − 1), max)</c>, optionally spread by ±20 %.
/// Handler retries (<see cref="RetryOptions"/>, for the transport consumer and the outbox dispatcher alike) and the waits
/// after an outage (a receiver, the inbox's or the outbox's database that does not answer) all compute their delays here.
/// </summary>
internal static class Backoff
{
    /// <summary>How a loop waits after its broker or database failed: 100 ms, doubling, at most 5 s, no jitter.</summary>
    public static readonly TimeSpan OutageInitial = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait of <see cref="Outage"/>.</summary>
    public static readonly TimeSpan OutageMax = TimeSpan.FromSeconds(5);

    /// <summary>Returns the delay before the retry that follows attempt number <paramref name="attempt"/> (1 for the first).</summary>
    public static TimeSpan Delay(TimeSpan initial, double factor, TimeSpan max, int attempt, bool jitter)
    {
        // Exponent capped: past 2^30 every realistic delay has reached its maximum long before.
        double growth = Math.Pow(factor, Math.Clamp(attempt - 1, 0, 30));
        double ms = Math.Min(initial.TotalMilliseconds * growth, max.TotalMilliseconds);
        if (jitter)
        {
#pragma warning disable CA5394 // jitter is not security-sensitive
            ms *= 0.8 + (Random.Shared.NextDouble() * 0.4);
#pragma warning restore CA5394
        }

        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }

    /// <summary>The wait after <paramref name="failures"/> consecutive failures of a broker or database (0 for the first).</summary>
    public static TimeSpan Outage(int failures) => Delay(OutageInitial, 2, OutageMax, failures + 1, jitter: false);
}
