using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Bus;
using Switchboard.Observability;

namespace Switchboard.Dispatch;

/// <summary>
/// The bounded worker pool behind <see cref="PublishOptions.Background"/>: a bounded channel read by a fixed number of
/// workers, started on first use. The common item, an event the root bus publishes with nothing but
/// <see cref="PublishOptions.Background"/>, is queued as the event itself (one reference, nothing allocated, counted
/// here without a thread-local lookup); everything else (a scope's publish, other options, a batch) travels in a
/// <see cref="Work"/>.
/// </summary>
internal sealed class BackgroundQueue
{
    // Per worker, on a cache line of its own and written only by that worker: [0] busy flag, [1] root items completed.
    private const int Stride = 16;

    private readonly Channel<object> _channel;
    private readonly int _workers;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly long[] _workerState;
    private readonly int _lowWater;
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
        _channel = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = workers == 1,
            SingleWriter = false,
        });
        _workers = workers;
        _workerState = new long[workers * Stride];
        _lowWater = capacity - Math.Max(1, capacity / 4);
        _logger = logger;
    }

    /// <summary>Gets how many items are queued or running.</summary>
    public long Pending
    {
        get
        {
            long pending = _channel.Reader.Count;
            for (int worker = 0; worker < _workers; worker++)
            {
                pending += Volatile.Read(ref _workerState[worker * Stride]);
            }

            return pending;
        }
    }

    /// <summary>Gets how many plain items of the root bus the workers have finished.</summary>
    public long RootCompleted
    {
        get
        {
            long completed = 0;
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
        return _channel.Writer.TryWrite(item) ? default : EnqueueWhenRoomAsync(item, cancellationToken);
    }

    /// <summary>Stops accepting items and completes when every queued item has run.</summary>
    public Task CompleteAsync()
    {
        _closed = true;
        _channel.Writer.TryComplete();
        SignalRoom();
        lock (_gate)
        {
            return _running is null ? Task.CompletedTask : Task.WhenAll(_running);
        }
    }

    private async ValueTask EnqueueWhenRoomAsync(object item, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Registered before the second try, so that a worker draining the queue after that try sees it and wakes us.
            TaskCompletionSource room = Volatile.Read(ref _room) ?? InstallRoomWaiter();
            if (_channel.Writer.TryWrite(item))
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
                for (int i = 0; i < running.Length; i++)
                {
                    int worker = i;
                    running[i] = Task.Run(() => RunAsync(worker));
                }

                Volatile.Write(ref _running, running);
            }
        }
    }

    private async Task RunAsync(int worker)
    {
        ChannelReader<object> reader = _channel.Reader;
        int state = worker * Stride;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (true)
            {
                // Busy before the item leaves the queue, so that Pending never misses it in between.
                Volatile.Write(ref _workerState[state], 1);
                if (!reader.TryRead(out object? item))
                {
                    Volatile.Write(ref _workerState[state], 0);
                    break;
                }

                if (Volatile.Read(ref _room) is not null && reader.Count <= _lowWater)
                {
                    SignalRoom();
                }

                Work? work = item as Work;
                try
                {
                    if (work is null)
                    {
                        await _root!.RunBackgroundAsync(item).ConfigureAwait(false);
                    }
                    else
                    {
                        await work.Bus.RunBackgroundAsync(work).ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    Log.BackgroundPublishFailed(_logger, (work?.Message ?? item).GetType().Name, ex);
                }
                finally
                {
                    if (work is null)
                    {
                        Volatile.Write(ref _workerState[state + 1], _workerState[state + 1] + 1);
                    }
                    else
                    {
                        work.Bus.Counters.Local.BackgroundCompleted++;
                    }

                    Volatile.Write(ref _workerState[state], 0);
                }
            }
        }
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
