namespace Switchboard.Dispatch;

/// <summary>
/// Helpers and their watchdog: what keeps items moving while a handler blocks the dispatcher's thread.
/// </summary>
internal sealed partial class BackgroundQueue
{
    /// <summary>How often the watchdog looks at the dispatcher (real time: it measures a stuck thread, not the bus's clock).</summary>
    private static readonly TimeSpan WatchdogTick = TimeSpan.FromMilliseconds(5);

    /// <summary>Ticks in a row with the dispatcher idle after which the watchdog stops until the dispatcher wakes (1 s).</summary>
    private const int WatchdogIdleTicks = 200;

    private readonly SemaphoreSlim _wake = new(0);
    private ITimer? _watchdog;
    private bool _watchdogRunning;
    private long _watchedState;
    private int _idleTicks;
    private int _parkedHelpers;
    private int _dispatcherParked;

    private async Task HelpAsync(int helper)
    {
        int cell = (helper * Stride) + 1;
        while (true)
        {
            Interlocked.Increment(ref _parkedHelpers);
            await _wake.WaitAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _parkedHelpers);

            // Woken because the dispatcher has been on one item for a tick while items wait (or the queue is closing):
            // read beside it until the queue is empty.
            while (TryTakeHelperSlot())
            {
                if (!_items.TryDequeue(out object? item))
                {
                    ReleaseSlot();
                    break; // the watchdog wakes a helper again if items pile up behind a dispatcher still stuck
                }

                GiveBack(1);
                ValueTask run = Start(item);
                if (!run.IsCompleted)
                {
                    try
                    {
                        await run.ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        LogFailure(item, ex);
                    }
                }
                else
                {
                    Observe(item, run);
                }

                CountCompleted(item, ref _workerState[cell]);
                ReleaseSlot();
            }

            if (_closed)
            {
                return; // the dispatcher drains what is left
            }
        }
    }

    /// <summary>Takes a slot for a helper, leaving one for the dispatcher.</summary>
    private bool TryTakeHelperSlot()
    {
        while (true)
        {
            int busy = Volatile.Read(ref _busy);
            if (busy >= _workers - 1)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _busy, busy + 1, busy) == busy)
            {
                return true;
            }
        }
    }

    /// <summary>At shutdown: every helper wakes, helps drain what is left, and ends.</summary>
    private void WakeHelpersToFinish()
    {
        if (_workers > 1)
        {
            _wake.Release(_workers - 1);
        }

        lock (_gate)
        {
            _watchdog?.Dispose();
            _watchdogRunning = false;
        }
    }

    /// <summary>Creates the watchdog when there are helpers to wake (called under <see cref="_gate"/>).</summary>
    private void StartWatchdog()
    {
        if (_workers == 1 || _closed)
        {
            return;
        }

        using (ExecutionContext.SuppressFlow())
        {
            _watchdog = TimeProvider.System.CreateTimer(static state => ((BackgroundQueue)state!).Watch(), this, WatchdogTick, WatchdogTick);
        }

        _watchdogRunning = true;
    }

    /// <summary>Restarts a watchdog that stopped while the dispatcher was idle (a flag read when it is running).</summary>
    private void EnsureWatchdog()
    {
        if (_workers == 1 || Volatile.Read(ref _watchdogRunning))
        {
            return;
        }

        lock (_gate)
        {
            if (!_watchdogRunning && !_closed && _watchdog is not null)
            {
                _idleTicks = 0;
                _watchdog.Change(WatchdogTick, WatchdogTick);
                Volatile.Write(ref _watchdogRunning, true);
            }
        }
    }

    private void Watch()
    {
        long state = Volatile.Read(ref _workerState[0]);
        bool unchanged = state == _watchedState;
        _watchedState = state;
        if (!unchanged)
        {
            _idleTicks = 0;
            return;
        }

        if ((state & 1) == 1)
        {
            // The dispatcher has been on the same item for a whole tick: if items wait behind it, one more helper.
            _idleTicks = 0;
            if (_wake.CurrentCount == 0 && Volatile.Read(ref _parkedHelpers) > 0 && !_items.IsEmpty && Volatile.Read(ref _busy) < _workers - 1)
            {
                _wake.Release();
            }

            return;
        }

        if (Volatile.Read(ref _dispatcherParked) == 0 || ++_idleTicks < WatchdogIdleTicks)
        {
            return;
        }

        lock (_gate)
        {
            // Parked for a second: stop ticking until the dispatcher wakes again. It clears _dispatcherParked with a full
            // fence and then reads _watchdogRunning; this writes _watchdogRunning, fences, and reads _dispatcherParked: one of
            // the two sees the other's write, so the watchdog never stays stopped behind a running dispatcher.
            Volatile.Write(ref _watchdogRunning, false);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _dispatcherParked) == 1 && Volatile.Read(ref _workerState[0]) == state && !_closed)
            {
                _watchdog?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            else
            {
                Volatile.Write(ref _watchdogRunning, true);
            }

            _idleTicks = 0;
        }
    }
}
