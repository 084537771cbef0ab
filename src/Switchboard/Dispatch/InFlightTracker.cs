namespace Switchboard.Dispatch;

/// <summary>Counts dispatches that went asynchronous, so that shutdown can wait for them to finish.</summary>
internal sealed class InFlightTracker
{
    private readonly Lock _gate = new();
    private long _count;
    private TaskCompletionSource? _idle;

    public long Count => Interlocked.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0)
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

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }
}
