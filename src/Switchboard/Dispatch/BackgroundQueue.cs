using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Bus;
using Switchboard.Observability;

namespace Switchboard.Dispatch;

/// <summary>
/// The bounded worker pool behind <see cref="PublishOptions.Background"/>: a bounded lock-free queue with <b>one
/// reader</b>, the dispatcher, started on first use. The common item, an event the root bus publishes with nothing but
/// <see cref="PublishOptions.Background"/>, is queued as the event itself (one reference, nothing allocated, counted
/// here without a thread-local lookup); everything else (a scope's publish, other options, a batch) travels in a
/// <see cref="Work"/>.
/// </summary>
/// <remarks>
/// <para>
/// The queue is a <see cref="ConcurrentQueue{T}"/> with a reservation count: a publisher reserves a place (one atomic
/// add, which also tells it that the queue is closed) and enqueues; the dispatcher gives places back in batches. No lock
/// is taken on either side, where a bounded <c>Channel&lt;T&gt;</c> takes one per write and per read.
/// </para>
/// <para>
/// How up to <c>BackgroundConcurrency</c> items run at once without every write waking every worker: the dispatcher
/// drains the queue and starts each item itself. An item whose handlers complete synchronously is done when its call
/// returns, so a stream of quick events costs the dispatcher's loop and nothing else (no hand-over between threads).
/// An item whose handlers go asynchronous is handed off (<see cref="Handoff"/>): it keeps a slot until it completes,
/// and the dispatcher goes on with the next item while fewer than <c>BackgroundConcurrency</c> slots are taken.
/// </para>
/// <para>
/// A handler that blocks its thread (synchronous I/O, a lock) would stall the dispatcher, and with it every item behind
/// it. A watchdog (BackgroundQueue.Helpers.cs) notices the dispatcher still on the same item a tick later while items
/// wait, and wakes a helper, which takes items beside the dispatcher until the queue is empty:
/// blocking handlers are still served in parallel, one tick late at most. With <c>BackgroundConcurrency = 1</c> there
/// are no helpers, as before.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim that parks the helpers never creates its wait handle (only WaitAsync and Release are used), so it holds nothing to dispose; the watchdog timer is disposed when the queue completes.")]
internal sealed partial class BackgroundQueue
{
    // Per worker (0 = the dispatcher, 1.. = helpers), on a cache line of its own and written only by that worker:
    // [0] the dispatcher's state (odd while it runs an item; a new value for every item), [1] root items completed,
    // [2] the dispatcher's places taken off the queue and not yet given back (it gives them back in batches). Nothing the
    // dispatcher writes per item lives in this object, which every publisher reads.
    private const int Stride = 16;

    // Set in _reserved once the queue is closed: a publisher's reservation then fails.
    private const long ClosedBit = 1L << 62;

    private readonly ConcurrentQueue<object> _items = new();
    private readonly int _capacity;
    private readonly int _workers;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly long[] _workerState;
    private readonly int _lowWater;

    // How many places the dispatcher takes before it gives them back (at once when publishers wait for room): 16, fewer
    // in a small queue, so that a handler blocking the dispatcher hides at most 1/64 of the capacity from publishers.
    private readonly int _giveBackBatch;

    // Places reserved by publishers and not yet given back by a reader (with ClosedBit once closed), alone on its line.
    private PaddedLong _reservations;
    private SwitchboardBus? _root;
    private Task[]? _running;

    // Publishers waiting for room: woken together once a quarter of the queue is free, not one slot at a time (a full
    // queue read one item at a time would otherwise cost a thread-pool hop per item, and settle into that rhythm); the
    // three quarters still queued keep the workers busy while the publishers wake.
    private TaskCompletionSource? _room;
    private volatile bool _closed;

    /// <summary>Plain items of the root bus queued (see <see cref="Work"/>); counted before queuing, given back if that fails.</summary>
    public StripedCounter RootQueued;

    public BackgroundQueue(int capacity, int workers, ILogger logger)
    {
        _capacity = capacity;
        _workers = workers;
        _workerState = new long[workers * Stride];
        _lowWater = capacity - Math.Max(1, capacity / 4);
        _giveBackBatch = Math.Clamp(capacity / 64, 1, 16);
        _logger = logger;
    }

    /// <summary>Gets how many items are queued or running.</summary>
    public long Pending
        => Math.Max(0, (Volatile.Read(ref _reservations.Value) & ~ClosedBit) - Volatile.Read(ref _workerState[2]))
            + (Volatile.Read(ref _workerState[0]) & 1) + Volatile.Read(ref _busy);

    /// <summary>Gets how many plain items of the root bus the workers have finished.</summary>
    public long RootCompleted
    {
        get
        {
            long completed = Volatile.Read(ref _handedOffRootCompleted);
            for (int worker = 0; worker < _workers; worker++)
            {
                completed += Volatile.Read(ref _workerState[(worker * Stride) + 1]);
            }

            return completed;
        }
    }

    /// <summary>Names the root bus, which runs the items queued as bare events.</summary>
    public void AttachRoot(SwitchboardBus root) => _root = root;

    /// <summary>Queues a bare event of the root bus, or a <see cref="Work"/>.</summary>
    public ValueTask EnqueueAsync(object item, CancellationToken cancellationToken)
    {
        EnsureStarted();
        return TryEnqueue(item) ? default : EnqueueWhenRoomAsync(item, cancellationToken);
    }

    /// <summary>Stops accepting items and completes when every queued item has run.</summary>
    public Task CompleteAsync()
    {
        _closed = true;
        Interlocked.Or(ref _reservations.Value, ClosedBit);
        WakeDispatcher();
        SignalRoom();
        WakeHelpersToFinish();
        lock (_gate)
        {
            return _running is null ? Task.CompletedTask : Task.WhenAll(_running);
        }
    }

    /// <summary>Reserves a place and enqueues, or returns false when the queue is full or closed.</summary>
    private bool TryEnqueue(object item)
    {
        long reserved = Interlocked.Increment(ref _reservations.Value);
        if (reserved <= _capacity)
        {
            // The enqueue is a full fence: the dispatcher, which installs its waiter before it looks at the queue a
            // last time, either sees this item or is seen waiting here.
            _items.Enqueue(item);
            WakeDispatcherIfWaiting();
            return true;
        }

        // Full or closed: the place is given back; a dispatcher waiting for this reservation to resolve is woken.
        Interlocked.Decrement(ref _reservations.Value);
        WakeDispatcherIfWaiting();
        return false;
    }

    private async ValueTask EnqueueWhenRoomAsync(object item, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Registered before the second try, so that a reader giving places back after that try sees it and wakes us.
            TaskCompletionSource room = Volatile.Read(ref _room) ?? InstallRoomWaiter();
            if (TryEnqueue(item))
            {
                return;
            }

            if (_closed)
            {
                throw new ChannelClosedException("The bus is shutting down and no longer queues background publishes.");
            }

            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private TaskCompletionSource InstallRoomWaiter()
    {
        TaskCompletionSource created = new(TaskCreationOptions.RunContinuationsAsynchronously);
        return Interlocked.CompareExchange(ref _room, created, null) ?? created;
    }

    private void SignalRoom() => Interlocked.Exchange(ref _room, null)?.TrySetResult();

    /// <summary>
    /// Gives back the places of items taken off the queue, and wakes the publishers waiting for room once the queue is
    /// down to three quarters.
    /// </summary>
    private void GiveBack(long taken)
    {
        long left = Interlocked.Add(ref _reservations.Value, -taken) & ~ClosedBit;
        if (Volatile.Read(ref _room) is not null && left <= _lowWater)
        {
            SignalRoom();
        }
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _running) is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_running is null)
            {
                Task[] running = new Task[_workers];
                running[0] = Task.Run(DispatchAsync);
                for (int i = 1; i < running.Length; i++)
                {
                    int helper = i;
                    running[i] = Task.Run(() => HelpAsync(helper));
                }

                StartWatchdog();
                Volatile.Write(ref _running, running);
            }
        }
    }

    /// <summary>Starts an item: a bare event runs on the root bus, a <see cref="Work"/> on its own bus.</summary>
    private ValueTask Start(object item)
    {
        try
        {
            return item is Work work ? work.Bus.RunBackgroundAsync(work) : _root!.RunBackgroundAsync(item);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <summary>Observes a completed item: logs its failure (handler errors were already counted by the bus).</summary>
    private void Observe(object item, ValueTask completed)
    {
        if (completed.IsCompletedSuccessfully)
        {
            return;
        }

        try
        {
            completed.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            LogFailure(item, ex);
        }
    }

    private void LogFailure(object item, Exception exception)
        => Log.BackgroundPublishFailed(_logger, ((item as Work)?.Message ?? item).GetType().Name, exception);

    /// <summary>A counter alone on its cache lines (written by every publisher).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 192)]
    private struct PaddedLong
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public long Value;
    }

    /// <summary>A background item that is not a bare event of the root bus: a scope's, one with options, or a batch.</summary>
    internal sealed class Work(SwitchboardBus bus, object message, PublishOptions? options, bool isBatch)
    {
        public SwitchboardBus Bus { get; } = bus;

        /// <summary>Gets the event, or the batch's <c>object[]</c>.</summary>
        public object Message { get; } = message;

        public PublishOptions? Options { get; } = options;

        public bool IsBatch { get; } = isBatch;
    }
}
