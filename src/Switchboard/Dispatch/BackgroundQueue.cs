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
    private long _pending;

    public BackgroundQueue(int capacity, int workers, ILogger logger)
    {
        _channel = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = workers == 1,
            SingleWriter = false,
        });
        _workers = workers;
        _logger = logger;
    }

    /// <summary>Gets how many items are queued or running.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public ValueTask EnqueueAsync(in WorkItem item, CancellationToken cancellationToken)
    {
        EnsureStarted();
        Interlocked.Increment(ref _pending);
        if (_channel.Writer.TryWrite(item))
        {
            return default;
        }

        return WaitForRoomAsync(item, cancellationToken);
    }

    private async ValueTask WaitForRoomAsync(WorkItem item, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _pending);
            throw;
        }
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
                    running[i] = Task.Run(RunAsync);
                }

                Volatile.Write(ref _running, running);
            }
        }
    }

    private async Task RunAsync()
    {
        ChannelReader<WorkItem> reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out WorkItem item))
            {
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
                    Interlocked.Decrement(ref _pending);
                    item.Bus.Counters.Local.BackgroundCompleted++;
                }
            }
        }
    }

    internal readonly record struct WorkItem(SwitchboardBus Bus, object Message, string? Topic, PublishOptions? Options, CancellationToken CancellationToken);
}
