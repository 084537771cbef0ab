using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Bus;
using Switchboard.Observability;

namespace Switchboard.Dispatch;

/// <summary>
/// The bounded worker pool behind <see cref="PublishOptions.Background"/>: a bounded channel of value-type work items
/// (no allocation per item while there is room) read by a fixed number of workers, started on first use.
/// </summary>
internal sealed class BackgroundQueue
{
    private readonly Channel<WorkItem> _channel;
    private readonly int _workers;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task[]? _running;

    // One flag per worker, written only by that worker: queued + busy workers = pending, without a shared counter.
    private readonly int[] _busy;

    // Each worker's flag sits on its own cache line, so that two workers never write to the same line.
    private const int Stride = 16;

    public BackgroundQueue(int capacity, int workers, ILogger logger)
    {
        _channel = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = workers == 1,
            SingleWriter = false,
        });
        _workers = workers;
        _busy = new int[workers * Stride];
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
                pending += Volatile.Read(ref _busy[worker * Stride]);
            }

            return pending;
        }
    }

    public ValueTask EnqueueAsync(in WorkItem item, CancellationToken cancellationToken)
    {
        EnsureStarted();
        return _channel.Writer.TryWrite(item) ? default : _channel.Writer.WriteAsync(item, cancellationToken);
    }

    /// <summary>Stops accepting items and completes when every queued item has run.</summary>
    public Task CompleteAsync()
    {
        _channel.Writer.TryComplete();
        lock (_gate)
        {
            return _running is null ? Task.CompletedTask : Task.WhenAll(_running);
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
        ChannelReader<WorkItem> reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (true)
            {
                // Busy before the item leaves the queue, so that Pending never misses it in between.
                Volatile.Write(ref _busy[worker * Stride], 1);
                if (!reader.TryRead(out WorkItem item))
                {
                    Volatile.Write(ref _busy[worker * Stride], 0);
                    break;
                }

                try
                {
                    await item.Bus.RunBackgroundAsync(item).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.BackgroundPublishFailed(_logger, item.Message.GetType().Name, ex);
                }
                finally
                {
                    item.Bus.Counters.Local.BackgroundCompleted++;
                    Volatile.Write(ref _busy[worker * Stride], 0);
                }
            }
        }
    }

    internal readonly record struct WorkItem(SwitchboardBus Bus, object Message, string? Topic, PublishOptions? Options, CancellationToken CancellationToken);
}
