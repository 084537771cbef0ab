namespace Switchboard.Outbox.Conformance;

/// <summary>
/// The system clock, counting the timers of one length it creates: given to a bus whose outbox polls every
/// <c>pollInterval</c>, each such timer is the dispatcher going to sleep after a claim that found nothing more to do. A test
/// that must know the dispatcher is asleep (so that only a wake-up can find the next row) waits for this count to grow,
/// instead of waiting a fixed time. Use a poll interval no other timer of the bus has.
/// </summary>
public sealed class DispatcherSleeps(TimeSpan pollInterval) : TimeProvider
{
    private int _count;

    /// <summary>Gets how many times the dispatcher started a poll-interval sleep so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime == pollInterval)
        {
            Interlocked.Increment(ref _count);
        }

        return base.CreateTimer(callback, state, dueTime, period);
    }
}
