using System.Diagnostics;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Routing;
using Switchboard.Streams;
using Switchboard.Transport;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    private Task<ShutdownReport>? _shutdown;

    public ValueTask<ShutdownReport> ShutdownAsync(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        lock (_gate)
        {
            if (_shutdown is null)
            {
                Volatile.Write(ref _publishRoutes, null);
                Volatile.Write(ref _sendRoutes, null);
                Volatile.Write(ref _state, Stopping);
                _shutdown = ShutdownCoreAsync(timeout);
            }

            return new ValueTask<ShutdownReport>(_shutdown);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync(_runtime.Options.ShutdownTimeout).ConfigureAwait(false);
    }

    private async Task<ShutdownReport> ShutdownCoreAsync(TimeSpan timeout)
    {
        await Task.Yield();
        long started = Stopwatch.GetTimestamp();
        using CancellationTokenSource deadline = new(timeout, _runtime.Time);

        SwitchboardBus[] scopes;
        lock (_gate)
        {
            scopes = [.. _scopes];
        }

        long inFlightLeft = 0;
        foreach (SwitchboardBus scope in scopes)
        {
            ShutdownReport scopeReport = await scope.ShutdownAsync(Remaining(timeout, started)).ConfigureAwait(false);
            inFlightLeft += scopeReport.InFlightAbandoned;
        }

        // Stop taking messages from the transport first; its in-flight messages finish or stay unacknowledged.
        TransportConsumer[] consumers;
        lock (_gate)
        {
            consumers = [.. _consumers];
        }

        await Task.WhenAll(consumers.Select(c => c.StopAsync(deadline.Token))).ConfigureAwait(false);

        bool completed = true;
        try
        {
            List<Task> pending = [_inFlight.WhenIdle()];
            if (_parent is null)
            {
                pending.Add(_runtime.Background.CompleteAsync());
            }

            await Task.WhenAll(pending).WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            completed = false;
        }

        // Streams end after the drain: a publisher waiting for room in a stream is waited for (its reader may still
        // read), within the timeout; an event is never dropped from a stream that a reader is still reading.
        IStreamSink[] streams;
        lock (_gate)
        {
            streams = [.. _streams];
        }

        foreach (IStreamSink stream in streams)
        {
            stream.Complete();
        }

        long background = _parent is null ? _runtime.Background.Pending : 0;
        inFlightLeft += _inFlight.Count;
        completed &= inFlightLeft == 0 && background == 0;

        if (_parent is null)
        {
            // The dispatcher stops after the drain (handlers may still cascade into the outbox) and before the transport
            // it sends to; what it has not sent stays in the table for the next start.
            if (_outbox is not null)
            {
                await _outbox.StopAsync(deadline.Token).ConfigureAwait(false);
            }

            if (_runtime.OwnsTransport)
            {
                await _runtime.Transport.DisposeAsync().ConfigureAwait(false);
            }

            await DisposeOwnedHandlersAsync().ConfigureAwait(false);
        }
        else
        {
            // A disposed scope holds no subscriptions (IMessageBus.CreateScope): remove what its users did not.
            RemoveAllSubscriptions();
            _parent.RemoveScope(this);
        }

        Volatile.Write(ref _state, Stopped);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        if (completed)
        {
            Log.ShutdownCompleted(_runtime.Logger, Name, (long)elapsed.TotalMilliseconds);
        }
        else
        {
            Log.ShutdownTimedOut(_runtime.Logger, Name, (long)timeout.TotalMilliseconds, inFlightLeft, background);
        }

        return new ShutdownReport
        {
            Completed = completed,
            InFlightAbandoned = inFlightLeft,
            BackgroundAbandoned = background,
            Elapsed = elapsed,
        };
    }

    /// <summary>Disposes the handler instances the bus created itself, last of all: no handler runs after this.</summary>
    private async ValueTask DisposeOwnedHandlersAsync()
    {
        if (_runtime.OwnedHandlers.Count == 0)
        {
            return;
        }

        try
        {
            await HandlerDisposal.DisposeAllAsync([.. _runtime.OwnedHandlers]).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Every instance was tried; a failing Dispose is reported, not thrown from the bus's own disposal.
            Log.HandlerDisposeFailed(_runtime.Logger, Name, ex);
        }
    }

    private void RemoveAllSubscriptions()
    {
        foreach (HandlerInvoker invoker in _subscriptions.Current.All)
        {
            invoker.Subscription?.Dispose();
        }

        foreach (TopicTable.Entry entry in _topics.Current)
        {
            entry.Subscription.Dispose();
        }
    }

    private void RemoveScope(SwitchboardBus scope)
    {
        lock (_gate)
        {
            _scopes.Remove(scope);
        }
    }

    private static TimeSpan Remaining(TimeSpan timeout, long started)
    {
        TimeSpan left = timeout - Stopwatch.GetElapsedTime(started);
        return left < TimeSpan.Zero ? TimeSpan.Zero : left;
    }
}
