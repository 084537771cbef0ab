using System.Runtime.CompilerServices;

namespace Switchboard.Dispatch;

/// <summary>The dispatcher: the queue's one reader, which runs synchronous items inline and hands off the rest.</summary>
internal sealed partial class BackgroundQueue
{
    // Slots taken besides the dispatcher's own: items handed off and still running, and helpers at work. The dispatcher
    // starts an item only while fewer than _workers are taken (its own item is the last slot), a helper only while
    // fewer than _workers - 1 are (the dispatcher, stuck, holds one).
    private int _busy;
    private long _handedOffRootCompleted;
    private TaskCompletionSource? _slotFreed;
    private readonly Stack<Handoff> _handoffs = new();

    // The parked dispatcher's wake-up, installed before its last look at the queue; completed by the next publisher.
    private TaskCompletionSource? _dispatcherWake;

    private async Task DispatchAsync()
    {
        long state = 0;
        long taken = 0;
        while (true)
        {
            if (Volatile.Read(ref _busy) >= _workers)
            {
                taken = Flush(taken);
                await WaitForSlotAsync(_workers).ConfigureAwait(false);
                continue;
            }

            // Odd (running) before the item leaves the queue, so that Pending never misses it in between; a new
            // value for every item, so that the watchdog can tell a stuck item from a stream of quick ones.
            Volatile.Write(ref _workerState[0], ++state);
            if (!_items.TryDequeue(out object? item))
            {
                Volatile.Write(ref _workerState[0], ++state);
                taken = Flush(taken);
                if (ClosedAndDrained())
                {
                    break;
                }

                await ParkAsync().ConfigureAwait(false);
                continue;
            }

            if (++taken >= _giveBackBatch || Volatile.Read(ref _room) is not null)
            {
                taken = Flush(taken);
            }
            else
            {
                Volatile.Write(ref _workerState[2], taken);
            }

            ValueTask run = Start(item);
            if (run.IsCompleted)
            {
                Observe(item, run);
                CountCompleted(item, ref _workerState[1]);
            }
            else
            {
                // Taken before the dispatcher's state says idle, so that Pending never misses the item.
                Interlocked.Increment(ref _busy);
                RentHandoff().Start(run, item);
            }

            Volatile.Write(ref _workerState[0], ++state);
        }

        // The queue is closed and empty: shutdown completes when the items handed off and the helpers are done too.
        while (Volatile.Read(ref _busy) > 0)
        {
            await WaitForSlotAsync(1).ConfigureAwait(false);
        }
    }

    private long Flush(long taken)
    {
        if (taken > 0)
        {
            GiveBack(taken);
            Volatile.Write(ref _workerState[2], 0);
        }

        return 0;
    }

    /// <summary>Whether the queue is closed with no item in it and no publisher holding a place.</summary>
    private bool ClosedAndDrained() => Volatile.Read(ref _reservations.Value) == ClosedBit;

    /// <summary>Waits for a publisher (or shutdown) with the queue empty.</summary>
    private async ValueTask ParkAsync()
    {
        TaskCompletionSource wake = Volatile.Read(ref _dispatcherWake) ?? InstallDispatcherWaiter();

        // A full fence between showing the waiter and the last look, the publisher's enqueue being the other one.
        Interlocked.MemoryBarrier();
        if (!_items.IsEmpty || ClosedAndDrained())
        {
            return;
        }

        // Parked: the watchdog may stop ticking after a while; it is restarted when the dispatcher wakes (EnsureWatchdog).
        Volatile.Write(ref _dispatcherParked, 1);
        await wake.Task.ConfigureAwait(false);
        Interlocked.Exchange(ref _dispatcherParked, 0);
        EnsureWatchdog();
    }

    private TaskCompletionSource InstallDispatcherWaiter()
    {
        TaskCompletionSource created = new(TaskCreationOptions.RunContinuationsAsynchronously);
        return Interlocked.CompareExchange(ref _dispatcherWake, created, null) ?? created;
    }

    private void WakeDispatcherIfWaiting()
    {
        if (Volatile.Read(ref _dispatcherWake) is not null)
        {
            WakeDispatcher();
        }
    }

    private void WakeDispatcher() => Interlocked.Exchange(ref _dispatcherWake, null)?.TrySetResult();

    /// <summary>Counts a finished item: a bare root event in the worker's own cell, a <see cref="Work"/> on its bus.</summary>
    private static void CountCompleted(object item, ref long rootCompleted)
    {
        if (item is Work work)
        {
            work.Bus.Counters.Local.BackgroundCompleted++;
        }
        else
        {
            Volatile.Write(ref rootCompleted, rootCompleted + 1);
        }
    }

    /// <summary>Waits until fewer than <paramref name="below"/> slots are taken.</summary>
    private async ValueTask WaitForSlotAsync(int below)
    {
        while (true)
        {
            // Registered before the check, so that a slot freed after it wakes us.
            TaskCompletionSource freed = Volatile.Read(ref _slotFreed) ?? InstallSlotWaiter();
            if (Volatile.Read(ref _busy) < below)
            {
                return;
            }

            await freed.Task.ConfigureAwait(false);
        }
    }

    private TaskCompletionSource InstallSlotWaiter()
    {
        TaskCompletionSource created = new(TaskCreationOptions.RunContinuationsAsynchronously);
        return Interlocked.CompareExchange(ref _slotFreed, created, null) ?? created;
    }

    private void ReleaseSlot()
    {
        Interlocked.Decrement(ref _busy);
        if (Volatile.Read(ref _slotFreed) is not null)
        {
            Interlocked.Exchange(ref _slotFreed, null)?.TrySetResult();
        }
    }

    private Handoff RentHandoff()
    {
        lock (_handoffs)
        {
            return _handoffs.TryPop(out Handoff? handoff) ? handoff : new Handoff(this);
        }
    }

    private void ReturnHandoff(Handoff handoff)
    {
        lock (_handoffs)
        {
            _handoffs.Push(handoff);
        }
    }

    /// <summary>
    /// An item whose handlers went asynchronous: waits for it without a thread, then counts it and frees its slot. Reused
    /// (at most one per slot ever exists), so a handed-off item allocates nothing of the queue's own.
    /// </summary>
    private sealed class Handoff
    {
        private readonly BackgroundQueue _queue;
        private readonly Action _onCompleted;
        private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _awaiter;
        private object? _item;

        public Handoff(BackgroundQueue queue)
        {
            _queue = queue;
            _onCompleted = OnCompleted;
        }

        public void Start(ValueTask run, object item)
        {
            _item = item;
            _awaiter = run.ConfigureAwait(false).GetAwaiter();
            _awaiter.UnsafeOnCompleted(_onCompleted);
        }

        private void OnCompleted()
        {
            object item = _item!;
            ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter awaiter = _awaiter;
            _item = null;
            _awaiter = default;
            try
            {
                awaiter.GetResult();
            }
            catch (Exception ex)
            {
                _queue.LogFailure(item, ex);
            }

            if (item is Work work)
            {
                work.Bus.Counters.Local.BackgroundCompleted++;
            }
            else
            {
                Interlocked.Increment(ref _queue._handedOffRootCompleted);
            }

            _queue.ReturnHandoff(this);
            _queue.ReleaseSlot();
        }
    }
}
