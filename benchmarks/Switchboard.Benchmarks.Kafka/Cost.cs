using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Benchmarks.Kafka;

// What one timed round cost, besides its wall-clock rate: CPU time of this process (the contender's producers and consumer,
// librdkafka's threads included) and of the broker process, and bytes allocated on the managed heap, each per message.
// On a shared machine the rate moves with everyone else's load; CPU per message moves much less, so it is the figure to
// compare changes by. The garbage collections (all generations) and their pause time are for the whole round. The broker's CPU is read from /proc/<pid>/stat (clock ticks) when its pid is known (--broker-pid).
// Work items: thread-pool work items completed per message (continuations hopping onto the pool, timers, ...): each one is a
// queue, a wake-up and often a context switch, which a loaded two-core machine feels more than the CPU figure shows.
public readonly record struct Cost(double Rate, double ClientCpuUs, double BrokerCpuUs, double AllocatedBytes, int Collections, double GcPauseMs, double WorkItems)
{
    public static int? BrokerPid { get; set; }

    public static Meter Start() => new(Process.GetCurrentProcess().TotalProcessorTime, BrokerCpu(), GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0), GC.GetTotalPauseDuration(), ThreadPool.CompletedWorkItemCount);

    public override string ToString() => FormattableString.Invariant(
        $"{Rate:N0}/s, client {ClientCpuUs:0} µs CPU/msg, broker {(BrokerCpuUs >= 0 ? BrokerCpuUs.ToString("0", CultureInfo.InvariantCulture) : "?")} µs CPU/msg, {AllocatedBytes:0} B/msg, {WorkItems:0.0} work items/msg, {Collections} GCs pausing {GcPauseMs:0} ms");

    // utime + stime of the broker process, in clock ticks (USER_HZ, 100 on Linux); -1 when unknown.
    private static long BrokerCpu()
    {
        if (BrokerPid is not { } pid || !File.Exists($"/proc/{pid}/stat"))
        {
            return -1;
        }

        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    public readonly record struct Meter(TimeSpan Cpu, long BrokerTicks, long Allocated, int Gen0, TimeSpan Paused, long WorkItems)
    {
        public Cost Stop(int messages, TimeSpan elapsed)
        {
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - Cpu;
            long broker = BrokerCpu();
            return new Cost(
                messages / elapsed.TotalSeconds,
                cpu.TotalMicroseconds / messages,
                broker < 0 || BrokerTicks < 0 ? -1 : (broker - BrokerTicks) * 10_000.0 / messages,
                (double)(GC.GetTotalAllocatedBytes(precise: false) - Allocated) / messages,
                GC.CollectionCount(0) - Gen0,
                (GC.GetTotalPauseDuration() - Paused).TotalMilliseconds,
                (double)(ThreadPool.CompletedWorkItemCount - WorkItems) / messages);
        }
    }
}
