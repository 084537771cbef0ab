namespace Switchboard.Dispatch;

/// <summary>Counts dispatches that went asynchronous, so that shutdown can wait for them to finish.</summary>
internal sealed class InFlightTracker
{
    private readonly Lock _gate = new();
    private long _count;
    private TaskCompletionSource? _idle;

    public long Count => Interlocked.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    /// <remarks>
    /// Takes the lock only when someone waits: the decrement and <see cref="WhenIdle"/>'s re-read of the count after it
    /// published its task are both full fences, so either this sees the task or the waiter sees the count at zero.
    /// </remarks>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0 && Volatile.Read(ref _idle) is not null)
        {
            lock (_gate)
            {
                if (Interlocked.Read(ref _count) == 0)
                {
                    _idle?.TrySetResult();
                    _idle = null;
                }
            }
        }
    }

    /// <summary>Completes when nothing is in flight.</summary>
    public Task WhenIdle()
    {
        lock (_gate)
        {
            if (Interlocked.Read(ref _count) == 0)
            {
                return Task.CompletedTask;
            }

            TaskCompletionSource idle = _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Interlocked.Read(ref _count) == 0)
            {
                // An exit reached zero after the first read and may not have seen the task yet.
                idle.TrySetResult();
                _idle = null;
            }

            return idle.Task;
        }
    }
}
