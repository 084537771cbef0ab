namespace Switchboard.Benchmarks;

// One set of messages for every contender. Each record carries the marker interfaces every library
// asks for, so the same type and the same instance travel through all of them.

/// <summary>An event with exactly one handler.</summary>
public sealed record Ping(int Id) : Mediator.INotification;

/// <summary>An event with three handlers.</summary>
public sealed record Broadcast(int Id) : Mediator.INotification;

/// <summary>An event whose one handler completes asynchronously.</summary>
public sealed record AsyncPing(int Id) : Mediator.INotification;

/// <summary>A command with exactly one handler and no result.</summary>
public sealed record DoWork(int Id) : Mediator.ICommand;

/// <summary>A request whose handler answers synchronously.</summary>
public sealed record Query(int Id) : Mediator.IRequest<Answer>, global::Switchboard.IRequest<Answer>;

/// <summary>The answer to <see cref="Query"/>; handlers return one cached instance so no contender pays for the allocation.</summary>
public sealed record Answer(int Id)
{
    public static readonly Answer Cached = new(42);
}

/// <summary>An event sent through a stream or a background publish.</summary>
public sealed record Tick(int Id);

/// <summary>
/// The work every handler does: one counter increment, the same for every contender.
/// </summary>
public static class Work
{
    private static long count;

    public static long Count => Volatile.Read(ref count);

    public static void Hit() => count++;

    /// <summary>Safe when the caller and the handler run on different threads (stream and background cases).</summary>
    public static void HitShared() => Interlocked.Increment(ref count);

    /// <summary>The asynchronous handler body: give the thread back once, then do the work.</summary>
    public static async ValueTask HitAsync()
    {
        await Task.Yield();
        Hit();
    }

    /// <summary>
    /// Waits (spinning, then yielding) until handlers running elsewhere have counted up to <paramref name="target"/>.
    /// Never sleeps: <see cref="SpinWait.SpinOnce()"/> sleeps a whole millisecond now and then, which would charge a
    /// contender up to 250 ns per message of a 4,096-message batch for how deep its queue happened to be at the end.
    /// </summary>
    public static void WaitFor(long target)
    {
        SpinWait spin = default;
        while (Volatile.Read(ref count) < target)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}

/// <summary>Shared instances: the benchmarks measure dispatch, not the allocation of the message.</summary>
public static class Samples
{
    public static readonly Ping Ping = new(1);
    public static readonly Broadcast Broadcast = new(2);
    public static readonly AsyncPing AsyncPing = new(3);
    public static readonly DoWork DoWork = new(4);
    public static readonly Query Query = new(5);
    public static readonly Tick Tick = new(6);

    /// <summary>Messages per invocation in the throughput cases (more than the stream capacity, so back-pressure is exercised).</summary>
    public const int Batch = 4096;

    /// <summary>
    /// Awaited calls per invocation in the async-handler case. Awaiting them in a loop keeps the continuations on the
    /// thread pool, so the case measures each library's cost around a <c>Task.Yield</c> hop instead of how fast a
    /// blocked benchmark thread wakes up (which on 2 cores swings between 2 and 20 µs from one run to the next).
    /// </summary>
    public const int AsyncBatch = 64;

    /// <summary>
    /// Processes per throughput benchmark. A writer and a reader thread on 2 cores settle into a fast or a slow
    /// rhythm for the life of a process; averaging three processes keeps one unlucky process from deciding a ratio.
    /// </summary>
    public const int ThroughputProcesses = 3;

    /// <summary>Processes per benchmark in the short job (each its own code layout and tiering): the spread the report shows.</summary>
    public const int DispatchProcesses = 3;

    /// <summary>Buffer size of the stream and of the raw channel it is compared with.</summary>
    public const int Capacity = 1024;
}
