using System.Threading.Channels;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Coalesces concurrent requests to one queue into batch calls (<c>SendMessageBatch</c>, <c>DeleteMessageBatch</c>): each
/// caller enqueues its entry and awaits it; loops take up to 10 entries at a time (and no more bytes than the request may
/// carry) and send them. A quiet queue sends an entry at once, alone. While a call is in flight, entries wait for it and
/// go together in the next one; a second (up to <c>maxInFlight</c>) call starts only for a full batch. So a busy queue
/// sends full batches instead of many small ones, and no entry waits longer than one call in flight. Every entry's task
/// completes exactly once, with its own result.
/// </summary>
/// <remarks>
/// <para>
/// With a <see cref="Gather"/> (the deletes of a receiver's queue), a call that would go with a partial batch while more
/// entries are known to be coming (messages handed to the bus and not yet settled) waits for them, at most
/// <see cref="Gather.Linger"/>: the acknowledgements of one receive then share one call. Nobody waits on that: the bus's
/// workers go on while their acknowledgements travel.
/// </para>
/// <para>
/// Measured with the benchmark harness (3,000 messages, 8 workers acknowledging one at a time): starting a call for
/// every entry while fewer than <c>maxInFlight</c> ran gave 1.4 entries per <c>DeleteMessageBatch</c> and 4.5 per
/// <c>SendMessageBatch</c>; HTTP calls, not messages, are what an SQS endpoint (and its bill) counts.
/// </para>
/// </remarks>
/// <typeparam name="T">The entry.</typeparam>
internal sealed class SqsBatcher<T>
{
    public const int MaxEntries = 10;
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Func<IReadOnlyList<Pending>, Task> _send;
    private readonly Func<T, int> _size;
    private readonly int _maxInFlight;
    private readonly int _maxBatchBytes;
    private readonly Gather? _gather;
    private readonly TaskCreationOptions _completion;
    private int _running;
    private long _pendingBytes;
    private TaskCompletionSource? _woken;

    /// <param name="send">Sends one batch and completes each entry's <see cref="Pending.Done"/>; entries it leaves open fail.</param>
    /// <param name="size">An entry's size toward the request's cap.</param>
    /// <param name="maxInFlight">How many batch calls may run at once.</param>
    /// <param name="maxBatchBytes">The request's cap on the entries' total size.</param>
    /// <param name="gather">When set, a partial batch waits (briefly) for the entries it says are coming.</param>
    /// <param name="continueInline">
    /// Whether the code awaiting an entry runs on the thread that completes the batch (one after the other) instead of as
    /// a thread-pool work item of its own each. Only for awaiters whose continuation is short and never blocks (the
    /// receiver's settlement of a deleted message): a work item per message woke a pool thread per message.
    /// </param>
    public SqsBatcher(Func<IReadOnlyList<Pending>, Task> send, Func<T, int> size, int maxInFlight, int maxBatchBytes, Gather? gather = null, bool continueInline = false)
    {
        _completion = continueInline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
        _gather = gather;
        _send = send;
        _size = size;
        _maxInFlight = maxInFlight;
        _maxBatchBytes = maxBatchBytes;
    }

    /// <summary>Queues an entry; the task completes when its batch call answered for it.</summary>
    public Task EnqueueAsync(T item)
    {
        Pending pending = new(item, _size(item), new TaskCompletionSource(_completion));
        Interlocked.Add(ref _pendingBytes, pending.Size);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);
        if (FullBatchWaiting)
        {
            Nudge();
        }

        StartDrainer();
        return pending.Done.Task;
    }

    /// <summary>Gets whether a call is waiting for more entries (for tests).</summary>
    internal bool Gathering => Volatile.Read(ref _woken) is not null;

    /// <summary>Wakes a call waiting for more entries (the <see cref="Gather"/> says none are coming any more).</summary>
    public void Nudge() => Volatile.Read(ref _woken)?.TrySetResult();

    /// <summary>Fails what is still queued and takes no more.</summary>
    public void Close()
    {
        _pending.Writer.TryComplete();
        while (_pending.Reader.TryRead(out Pending? pending))
        {
            pending.Done.TrySetException(new ObjectDisposedException("SqsTransport", "The SQS transport was disposed before the request was sent."));
        }
    }

    /// <summary>Gets how many batch calls are running (for tests).</summary>
    internal int Running => Volatile.Read(ref _running);

    private void StartDrainer()
    {
        while (true)
        {
            int running = Volatile.Read(ref _running);
            // Another call only for a full batch: fewer entries wait for the call in flight, which takes them when it returns.
            if (_pending.Reader.Count == 0 || (running > 0 && (running >= _maxInFlight || !FullBatchWaiting)))
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
                if (!FullBatchWaiting && Volatile.Read(ref _running) > 1)
                {
                    // A partial batch is left to the other call in flight (it takes it when it returns): fewer, fuller calls.
                    return;
                }

                if (_gather is { } gather && !FullBatchWaiting && gather.MoreExpected())
                {
                    await GatherAsync(gather).ConfigureAwait(false);
                }

                batch.Clear();
                int bytes = 0;
                while (batch.Count < MaxEntries && _pending.Reader.TryPeek(out Pending? next))
                {
                    int size = next.Size;
                    if (batch.Count > 0 && bytes + size > _maxBatchBytes)
                    {
                        break;
                    }

                    if (!_pending.Reader.TryRead(out next))
                    {
                        break;
                    }

                    bytes += size;
                    Interlocked.Add(ref _pendingBytes, -size);
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                try
                {
                    // A full batch more is waiting: it need not wait for this call.
                    StartDrainer();
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
                    // Looked at first: TrySetException allocates on a completed task too, and an exception per message adds up.
                    if (!pending.Done.Task.IsCompleted)
                    {
                        pending.Done.TrySetException(new InvalidOperationException("SQS answered the batch without a result for this entry; it may or may not have been applied."));
                    }
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

    /// <summary>Waits until a full batch waits, the gather says nothing more is coming (<see cref="Nudge"/>), or the linger passed.</summary>
    private async Task GatherAsync(Gather gather)
    {
        TaskCompletionSource woken = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _woken, woken);
        // Looked at again after publishing the signal: an entry or a settlement in between would have found no one to wake.
        if (!FullBatchWaiting && gather.MoreExpected())
        {
            await Task.WhenAny(woken.Task, Task.Delay(gather.Linger, gather.Time)).ConfigureAwait(false);
        }

        Interlocked.CompareExchange(ref _woken, null, woken);
    }

    /// <summary>Gets whether the entries waiting fill a batch call (10 entries, or the request's size cap).</summary>
    private bool FullBatchWaiting => _pending.Reader.Count >= MaxEntries || Interlocked.Read(ref _pendingBytes) >= _maxBatchBytes;

    /// <summary>When a partial batch waits for more: while <paramref name="MoreExpected"/> says so, at most <paramref name="Linger"/>.</summary>
    internal sealed record Gather(Func<bool> MoreExpected, TimeSpan Linger, TimeProvider Time);

    /// <summary>An entry, its size toward the request's cap, and its completion.</summary>
    internal sealed record Pending(T Item, int Size, TaskCompletionSource Done);
}
