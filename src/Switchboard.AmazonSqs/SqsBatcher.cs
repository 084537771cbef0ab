using System.Threading.Channels;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Coalesces concurrent requests to one queue into batch calls (<c>SendMessageBatch</c>, <c>DeleteMessageBatch</c>): each
/// caller enqueues its entry and awaits it; up to <c>maxInFlight</c> loops take up to 10 entries at a time (and no more
/// bytes than the request may carry) and send them. A quiet queue sends an entry at once, alone; a busy one fills batches
/// while the earlier ones are in flight. Every entry's task completes exactly once, with its own result.
/// </summary>
/// <typeparam name="T">The entry.</typeparam>
internal sealed class SqsBatcher<T>
{
    public const int MaxEntries = 10;
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Func<IReadOnlyList<Pending>, Task> _send;
    private readonly Func<T, int> _size;
    private readonly int _maxInFlight;
    private readonly int _maxBatchBytes;
    private int _running;

    /// <param name="send">Sends one batch and completes each entry's <see cref="Pending.Done"/>; entries it leaves open fail.</param>
    /// <param name="size">An entry's size toward the request's cap.</param>
    /// <param name="maxInFlight">How many batch calls may run at once.</param>
    /// <param name="maxBatchBytes">The request's cap on the entries' total size.</param>
    public SqsBatcher(Func<IReadOnlyList<Pending>, Task> send, Func<T, int> size, int maxInFlight, int maxBatchBytes)
    {
        _send = send;
        _size = size;
        _maxInFlight = maxInFlight;
        _maxBatchBytes = maxBatchBytes;
    }

    /// <summary>Queues an entry; the task completes when its batch call answered for it.</summary>
    public Task EnqueueAsync(T item)
    {
        Pending pending = new(item, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);

        StartDrainer();
        return pending.Done.Task;
    }

    /// <summary>Fails what is still queued and takes no more.</summary>
    public void Close()
    {
        _pending.Writer.TryComplete();
        while (_pending.Reader.TryRead(out Pending? pending))
        {
            pending.Done.TrySetException(new ObjectDisposedException("SqsTransport", "The SQS transport was disposed before the request was sent."));
        }
    }

    private void StartDrainer()
    {
        while (true)
        {
            int running = Volatile.Read(ref _running);
            if (running >= _maxInFlight || !_pending.Reader.TryPeek(out _))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running)
            {
                _ = Task.Run(DrainAsync);
                return;
            }
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            List<Pending> batch = new(MaxEntries);
            while (true)
            {
                batch.Clear();
                int bytes = 0;
                while (batch.Count < MaxEntries && _pending.Reader.TryPeek(out Pending? next))
                {
                    int size = _size(next.Item);
                    if (batch.Count > 0 && bytes + size > _maxBatchBytes)
                    {
                        break;
                    }

                    if (!_pending.Reader.TryRead(out next))
                    {
                        break;
                    }

                    bytes += size;
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                try
                {
                    await _send(batch).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    foreach (Pending pending in batch)
                    {
                        pending.Done.TrySetException(ex);
                    }
                }

                foreach (Pending pending in batch)
                {
                    pending.Done.TrySetException(new InvalidOperationException("SQS answered the batch without a result for this entry; it may or may not have been applied."));
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            // An entry queued between the last empty read and the decrement would otherwise wait for the next caller.
            StartDrainer();
        }
    }

    /// <summary>An entry and its completion.</summary>
    internal sealed record Pending(T Item, TaskCompletionSource Done);
}
