namespace Switchboard.AllocationTests;

/// <summary>
/// Counts the bytes the current thread allocates while an operation runs many times, after a warm-up that lets
/// one-time work (JIT, lazy tables, pooled objects) happen first. Only operations that complete synchronously can
/// be measured this way: the continuation of an asynchronous one would run, and allocate, on another thread.
/// </summary>
internal static class AllocationMeter
{
    public const int WarmUp = 1_000;
    public const int Iterations = 100_000;

    public static long Measure(Func<ValueTask> operation)
    {
        for (int i = 0; i < WarmUp; i++)
        {
            Complete(operation());
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            Complete(operation());
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    public static long Measure<T>(Func<ValueTask<T>> operation)
    {
        for (int i = 0; i < WarmUp; i++)
        {
            Complete(operation());
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            Complete(operation());
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>The assertion message: total and per operation, so a failure says how far off it is.</summary>
    public static string Describe(string operation, long bytes) =>
        $"{operation} allocated {bytes} bytes over {Iterations} operations ({(double)bytes / Iterations:0.##} B/op); expected 0";

    private static void Complete(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The operation did not complete synchronously, so its allocations cannot be counted on this thread.");
        }

        task.GetAwaiter().GetResult();
    }

    private static void Complete<T>(ValueTask<T> task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The operation did not complete synchronously, so its allocations cannot be counted on this thread.");
        }

        _ = task.GetAwaiter().GetResult();
    }
}
