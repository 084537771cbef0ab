using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Faults;

/// <summary>
/// One fault run, the same for every server: several publishers send a few thousand messages through a
/// <see cref="FaultProxy"/>; a quarter of the way in the network stalls (no RST, no FIN), and heals later. The caller
/// asserts on the <see cref="Report"/>; <see cref="AssertPassed"/> holds the common rules.
/// </summary>
public sealed class StallScenario
{
    public required FaultProxy Proxy { get; init; }

    /// <summary>Sends one message with this id; returns only when the server confirmed it, throws otherwise.</summary>
    public required Func<string, Task> Publish { get; init; }

    public required Func<Task<HealthStatus>> Health { get; init; }

    public required Ledger Ledger { get; init; }

    public int Messages { get; init; } = 2000;

    public int Publishers { get; init; } = 8;

    /// <summary>How long the network stays stalled once the outage has been seen.</summary>
    public TimeSpan StallFor { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the whole run may take before it fails.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(60);

    public async Task<Report> RunAsync()
    {
        Report report = new();
        int next = -1;
        long successesDuringStall = 0, failures = 0, slowestFailureTicks = 0, failuresDuringStall = 0;
        using CancellationTokenSource deadline = new(Patience);

        async Task PublishAllAsync()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= Messages)
                {
                    return;
                }

                string id = $"m-{i}";
                while (true)
                {
                    deadline.Token.ThrowIfCancellationRequested();
                    bool stalledBefore = Proxy.Stalled;
                    long started = Stopwatch.GetTimestamp();
                    try
                    {
                        await Publish(id);
                        if (stalledBefore && Proxy.Stalled)
                        {
                            // Started and finished inside the stall: no confirm can have come back.
                            Interlocked.Increment(ref successesDuringStall);
                        }

                        Ledger.Published(id);
                        break;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !deadline.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref failures);
                        if (stalledBefore)
                        {
                            Interlocked.Increment(ref failuresDuringStall);
                            long took = Stopwatch.GetElapsedTime(started).Ticks;
                            long seen;
                            while (took > (seen = Interlocked.Read(ref slowestFailureTicks)) && Interlocked.CompareExchange(ref slowestFailureTicks, took, seen) != seen)
                            {
                            }

                            report.FailureTypes.Enqueue(ex.GetType().Name + ": " + ex.Message);
                        }

                        await Task.Delay(50);
                    }
                }
            }
        }

        Task[] publishers = [.. Enumerable.Range(0, Publishers).Select(_ => Task.Run(PublishAllAsync))];
        await Eventually.TrueAsync(() => Volatile.Read(ref next) >= Messages / 4, Patience);

        Assert.Equal(HealthStatus.Healthy, await Health());
        Proxy.Stall();
        Stopwatch stalled = Stopwatch.StartNew();
        // Polled without blocking a thread: a client whose timeouts run on the thread pool (Npgsql's cancel request is
        // synchronous) must not be starved by the test's own waiting.
        await UntilAsync(async () => await Health() != HealthStatus.Healthy);
        report.UnhealthyAfter = stalled.Elapsed;
        await Eventually.TrueAsync(() => Interlocked.Read(ref failuresDuringStall) > 0, Patience, () => "no send failed during the stall");
        TimeSpan rest = StallFor - stalled.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }

        report.StalledFor = stalled.Elapsed;
        Proxy.Heal();

        await Task.WhenAll(publishers).WaitAsync(Patience);
        await Ledger.WaitAllHandledAsync(Patience);
        await UntilAsync(async () => await Health() == HealthStatus.Healthy);
        report.SuccessesDuringStall = Interlocked.Read(ref successesDuringStall);
        report.Failures = Interlocked.Read(ref failures);
        report.FailuresDuringStall = Interlocked.Read(ref failuresDuringStall);
        report.SlowestFailure = TimeSpan.FromTicks(Interlocked.Read(ref slowestFailureTicks));
        return report;
    }

    private async Task UntilAsync(Func<Task<bool>> condition)
    {
        Stopwatch waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < Patience, $"the health check did not change within {Patience.TotalSeconds:0} s");
            await Task.Delay(10);
        }
    }

    public sealed class Report
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> FailureTypes { get; } = new();

        public TimeSpan UnhealthyAfter { get; set; }

        public TimeSpan StalledFor { get; set; }

        public long SuccessesDuringStall { get; set; }

        public long Failures { get; set; }

        public long FailuresDuringStall { get; set; }

        public TimeSpan SlowestFailure { get; set; }

        public override string ToString()
            => $"unhealthy after {UnhealthyAfter.TotalSeconds:0.0} s, stalled {StalledFor.TotalSeconds:0.0} s, {Failures} failed sends ({FailuresDuringStall} in the stall, slowest {SlowestFailure.TotalSeconds:0.0} s), {SuccessesDuringStall} successes inside the stall; first errors: {string.Join(" | ", FailureTypes.Take(2))}";
    }

    /// <summary>The rules every fault test holds: lost = 0 (and nothing invented), no success inside the stall, a timely error, health saw it.</summary>
    public void AssertPassed(Report report, TimeSpan errorWithin)
    {
        Assert.True(report.SuccessesDuringStall == 0, $"a send was reported successful while no confirm could come back: {report}");
        Assert.True(report.SlowestFailure <= errorWithin, $"a sender waited longer than {errorWithin.TotalSeconds:0.#} s for its error: {report}");
        // A send that failed may still have been stored (its bytes were delivered when the network healed) and was sent
        // again; a settlement held in the stall is delivered again: duplicates, bounded, never a loss.
        Ledger.AssertPassRule(maxDuplicates: (int)report.Failures + 512);
    }
}
