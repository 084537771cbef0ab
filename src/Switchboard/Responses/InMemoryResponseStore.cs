using System.Collections.Concurrent;

namespace Switchboard.Responses;

/// <summary>A response store inside one process: waiters are completed directly; unclaimed responses expire after their TTL.</summary>
public sealed class InMemoryResponseStore : IResponseStore
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates a store.</summary>
    /// <param name="timeProvider">The clock for timeouts and expiry; the system clock by default.</param>
    public InMemoryResponseStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets how many responses or waiters the store holds now.</summary>
    public int Count => _slots.Count;

    /// <inheritdoc />
    public ValueTask StoreAsync(string correlationId, StoredResponse response, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(correlationId);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        Slot slot = _slots.GetOrAdd(correlationId, static _ => new Slot());
        if (slot.Response.TrySetResult(response))
        {
            slot.Expiry = _time.CreateTimer(static state => ((Action)state!)(), (Action)(() => Remove(correlationId, slot)), timeToLive, Timeout.InfiniteTimeSpan);
        }

        return default;
    }

    /// <inheritdoc />
    public async ValueTask<StoredResponse> WaitAsync(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(correlationId);
        Slot slot = _slots.GetOrAdd(correlationId, static _ => new Slot());
        try
        {
            StoredResponse response = await slot.Response.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            Remove(correlationId, slot);
            return response;
        }
        catch (TimeoutException)
        {
            Remove(correlationId, slot);
            throw new TimeoutException($"No response for correlation id '{correlationId}' arrived within {timeout.TotalSeconds:0.###} s.");
        }
        catch (OperationCanceledException)
        {
            Remove(correlationId, slot);
            throw;
        }
    }

    private void Remove(string correlationId, Slot slot)
    {
        if (_slots.TryRemove(new KeyValuePair<string, Slot>(correlationId, slot)))
        {
            slot.Expiry?.Dispose();
        }
    }

    private sealed class Slot
    {
        public TaskCompletionSource<StoredResponse> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ITimer? Expiry { get; set; }
    }
}
