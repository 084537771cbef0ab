using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Transport;

namespace Switchboard.Outbox;

internal sealed partial class TransactionalOutbox
{
    /// <summary>A transport that refuses messages is retried at least this often, however many attempts failed: when it comes back, the backlog flows within this time.</summary>
    private static readonly TimeSpan s_maxTransportRetryDelay = TimeSpan.FromSeconds(15);

    private async Task RunAsync(CancellationToken stopping)
    {
        int failures = 0;
        DateTimeOffset nextCleanup = DateTimeOffset.MinValue;
        bool announced = false;

        // The earliest time a row given back for a retry becomes due: kept until a claim has run after it, so that a wake-up
        // that comes before it (a commit, a spurious notification) does not make the dispatcher forget it and sleep a whole poll.
        DateTimeOffset? retryAt = null;

        // Rows of a full batch whose dispatch was confirmed: marked by the next claim, in its transaction.
        long[]? unmarked = null;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await EnsureSchemaAsync(stopping).ConfigureAwait(false);
                _listener ??= await _store.ListenAsync(Wake, stopping).ConfigureAwait(false);
                if (!announced)
                {
                    Log.OutboxStarted(_runtime.Logger, _store.Name, Owner, OutboxSchema.Version);
                    announced = true;
                }

                // Drain whatever woke us before claiming, so that a commit during the claim wakes us again.
                _wake.Reader.TryRead(out _);
                DateTimeOffset claimedAt = _runtime.Time.GetUtcNow();
                BatchResult batch = await DispatchBatchAsync(unmarked, stopping).ConfigureAwait(false);
                unmarked = batch.Unmarked;
                failures = 0;
                if (retryAt <= claimedAt)
                {
                    retryAt = null; // that claim saw the row due
                }

                if (batch.NextDue is { } next && (retryAt is null || next < retryAt))
                {
                    retryAt = next;
                }

                DateTimeOffset now = _runtime.Time.GetUtcNow();
                if (now >= nextCleanup)
                {
                    await _store.DeleteExpiredAsync(now - _options.DispatchedRetention, now - _options.InboxRetention, stopping).ConfigureAwait(false);
                    OutboxCounts counts = await _store.CountAsync(stopping).ConfigureAwait(false);
                    Volatile.Write(ref _lastPending, counts.Pending);
                    nextCleanup = now + _options.CleanupInterval;
                }

                if (batch.Claimed >= _options.BatchSize)
                {
                    continue; // more is waiting
                }

                TimeSpan wait = _options.PollInterval;
                if (retryAt is { } due && due - now < wait)
                {
                    // Timers count whole milliseconds and may fire up to one early: wake just after the row is due, never just
                    // before (the claim would find nothing and the row would wait a whole poll interval).
                    wait = TimeSpan.FromMilliseconds(Math.Ceiling((due - now).TotalMilliseconds) + 1);
                }

                await WaitForWakeAsync(wait, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database is unreachable (or a statement failed): back off, never give up the loop. Rows dispatched and
                // not yet marked stay in 'unmarked' for the next claim.
                TimeSpan delay = Backoff.Delay(TimeSpan.FromMilliseconds(50), 2, _options.PollInterval, ++failures, jitter: false);
                Log.OutboxStoreFailed(_runtime.Logger, _store.Name, (long)delay.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(delay, _runtime.Time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        if (unmarked is not null)
        {
            await MarkQuietlyAsync(unmarked).ConfigureAwait(false);
        }
    }

    /// <summary>Marks confirmed rows at shutdown; if the database does not answer, they are sent again after their lease (at least once).</summary>
    private async Task MarkQuietlyAsync(long[] ids)
    {
        try
        {
            await MarkAsync(ids).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.OutboxStoreFailed(_runtime.Logger, _store.Name, 0, ex);
        }
    }

    private async ValueTask MarkAsync(long[] ids)
    {
        // Not cancellable: these rows were confirmed; leaving them unmarked would send them again.
        await _store.MarkDispatchedAsync(ids, _runtime.Time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        Interlocked.Add(ref _dispatched, ids.Length);
    }

    private async Task WaitForWakeAsync(TimeSpan wait, CancellationToken stopping)
    {
        if (wait <= TimeSpan.Zero || _wake.Reader.TryRead(out _))
        {
            return;
        }

        using CancellationTokenSource timeout = new(wait, _runtime.Time);
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        try
        {
            await _wake.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // The poll interval passed: look again.
        }
    }

    /// <summary>
    /// Claims one batch (marking <paramref name="unmarked"/>, the previous batch's confirmed rows, in the same transaction),
    /// dispatches it (rows of one key in order, keys in parallel), and marks what succeeded: at once when the batch was not
    /// full, otherwise through the next claim (<see cref="BatchResult.Unmarked"/>), which the caller makes right away.
    /// </summary>
    internal async ValueTask<BatchResult> DispatchBatchAsync(long[]? unmarked, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _runtime.Time.GetUtcNow();
        IReadOnlyList<OutboxMessage> claimed = await _store.ClaimAsync(
            new OutboxClaim(Owner, _options.BatchSize, now, now + _options.LeaseDuration) { Dispatched = unmarked },
            cancellationToken).ConfigureAwait(false);
        if (unmarked is not null)
        {
            Interlocked.Add(ref _dispatched, unmarked.Length);
        }

        if (claimed.Count == 0)
        {
            return default;
        }

        List<List<OutboxMessage>> groups = [];
        Dictionary<string, List<OutboxMessage>>? byKey = null;
        foreach (OutboxMessage row in claimed)
        {
            if (row.Message.PartitionKey is not { } key)
            {
                groups.Add([row]);
            }
            else if ((byKey ??= new Dictionary<string, List<OutboxMessage>>(StringComparer.Ordinal)).TryGetValue(key, out List<OutboxMessage>? group))
            {
                group.Add(row);
            }
            else
            {
                group = [row];
                byKey[key] = group;
                groups.Add(group);
            }
        }

        BatchState state = new();
        if (groups.Count == 1 || _options.Concurrency == 1)
        {
            foreach (List<OutboxMessage> group in groups)
            {
                await DispatchGroupAsync(group, state, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await Parallel.ForEachAsync(
                groups,
                new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency },
                (group, _) => DispatchGroupAsync(group, state, cancellationToken)).ConfigureAwait(false);
        }

        long[] done = [.. state.Done];
        if (done.Length > 0 && (claimed.Count < _options.BatchSize || cancellationToken.IsCancellationRequested))
        {
            await MarkAsync(done).ConfigureAwait(false);
            done = [];
        }

        return new BatchResult(claimed.Count, state.Done.Count, state.NextDue, done.Length > 0 ? done : null);
    }

    private async ValueTask DispatchGroupAsync(List<OutboxMessage> group, BatchState state, CancellationToken cancellationToken)
    {
        for (int i = 0; i < group.Count; i++)
        {
            Outcome outcome = state.TransportDown || cancellationToken.IsCancellationRequested
                ? Outcome.NotAttempted
                : await DispatchOneAsync(group[i], state, cancellationToken).ConfigureAwait(false);
            if (outcome == Outcome.Dispatched)
            {
                state.Done.Enqueue(group[i].Id);
                continue;
            }

            if (outcome == Outcome.Aborted)
            {
                return; // leased: claimed again when the lease ends
            }

            // This key stops here, to keep its order: the rows after the one that failed wait for its retry. After a row that
            // was parked dead they are due at once: the next claim must come now, not after a poll interval.
            int from = outcome == Outcome.NotAttempted ? i : i + 1;
            for (int j = from; j < group.Count; j++)
            {
                await _store.ReleaseAsync(group[j].Id, failure: null, notBefore: null, CancellationToken.None).ConfigureAwait(false);
            }

            if (outcome == Outcome.Dead && from < group.Count)
            {
                state.Due(_runtime.Time.GetUtcNow());
            }

            return;
        }
    }

    private async ValueTask<Outcome> DispatchOneAsync(OutboxMessage row, BatchState state, CancellationToken cancellationToken)
    {
        TransportMessage message = row.Message;
        bool local = message.Destination == OutboxRows.LocalDestination;
        int attempt = row.Attempts + 1;
        using Activity? activity = StartActivity($"dispatch {(local ? message.GetHeader(MessageHeaders.MessageType) : message.Destination)}", ActivityKind.Producer, message, _store);
        try
        {
            if (local)
            {
                if (!_runtime.Codec.TryDecode(message, attempt, out EnvelopeCodec.Decoded decoded, out string? failure))
                {
                    await ParkAsync(row, new DeadLetterReason(failure!, null, null, attempt)).ConfigureAwait(false);
                    return Outcome.Dead;
                }

                // An event that no handler of this process takes is delivered to nobody, as PublishAsync does (commands are
                // checked for a handler when written): not a failure to retry, which would also hold back its key's next rows.
                if (decoded.ReplyTo is not null || _bus.HasLocalHandlers(decoded.Message.GetType()))
                {
                    await _bus.HandleReceivedAsync(decoded, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                await _runtime.Transport.SendAsync(WithTrace(message, activity), cancellationToken).ConfigureAwait(false);
                _runtime.TransportCounters.Sent();
            }

            OutboxMetrics.RecordDispatched(_store.Name, BusName, _runtime.Time.GetUtcNow() - row.CreatedAt);
            return Outcome.Dispatched;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Outcome.Aborted;
        }
        catch (Exception ex)
        {
            Exception cause = ex is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerExceptions[0] : ex;
            activity?.SetStatus(ActivityStatusCode.Error, cause.Message);
            activity?.SetTag(SwitchboardDiagnostics.Tags.ErrorType, cause.GetType().FullName);
            Interlocked.Increment(ref _failed);
            OutboxMetrics.RecordFailed(_store.Name, BusName);

            // A message the transport can never take, or a handler that failed every attempt, is the row's fault: park it.
            // A transport or a database that is down is not: retry, however long it takes, and hold back the rest of the batch.
            bool infrastructure = cause is InboxUnavailableException || (!local && cause is not MessageTooLargeException and not ArgumentException);
            if (cause is MessageTooLargeException || (!infrastructure && attempt >= _options.Retry.MaxAttempts))
            {
                await ParkAsync(row, DeadLetterReason.FromException(cause, attempt)).ConfigureAwait(false);
                return Outcome.Dead;
            }

            TimeSpan delay = _options.Retry.GetDelay(attempt);
            if (infrastructure)
            {
                state.TransportDown = !local;
                if (delay > s_maxTransportRetryDelay)
                {
                    delay = s_maxTransportRetryDelay;
                }
            }

            DateTimeOffset notBefore = _runtime.Time.GetUtcNow() + delay;
            Log.OutboxDispatchFailed(_runtime.Logger, _store.Name, row.Id, message.MessageId, message.Destination, attempt, (long)delay.TotalMilliseconds, cause);
            await _store.ReleaseAsync(row.Id, $"{cause.GetType().Name}: {cause.Message}", notBefore, CancellationToken.None).ConfigureAwait(false);
            state.Due(notBefore);
            return Outcome.Failed;
        }
    }

    private async ValueTask ParkAsync(OutboxMessage row, DeadLetterReason reason)
    {
        Log.OutboxDead(_runtime.Logger, _store.Name, row.Id, row.Message.MessageId, reason.Reason);
        await _store.MarkDeadAsync(row.Id, reason, _runtime.Time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        Interlocked.Increment(ref _deadLettered);
        if (SwitchboardDiagnostics.DeadLettered.Enabled)
        {
            SwitchboardDiagnostics.DeadLettered.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, "outbox"));
        }
    }

    /// <summary>The dispatch span becomes the parent of what the consumer does; the original publish stays linked to it.</summary>
    private static TransportMessage WithTrace(TransportMessage message, Activity? activity)
    {
        if (activity?.Id is not { } id)
        {
            return message;
        }

        Dictionary<string, string> headers = new(message.Headers, StringComparer.Ordinal) { [MessageHeaders.TraceParent] = id };
        return new TransportMessage { Destination = message.Destination, Headers = headers, Body = message.Body, PartitionKey = message.PartitionKey };
    }

    /// <summary>What one batch did; <see cref="Unmarked"/> holds confirmed rows for the next claim to mark.</summary>
    internal readonly record struct BatchResult(int Claimed, int Dispatched, DateTimeOffset? NextDue, long[]? Unmarked = null);

    private enum Outcome
    {
        Dispatched,
        Failed,
        Dead,
        NotAttempted,
        Aborted,
    }

    private sealed class BatchState
    {
        private readonly Lock _gate = new();
        private volatile bool _transportDown;

        public ConcurrentQueue<long> Done { get; } = new();

        public bool TransportDown
        {
            get => _transportDown;
            set => _transportDown |= value;
        }

        public DateTimeOffset? NextDue { get; private set; }

        public void Due(DateTimeOffset at)
        {
            lock (_gate)
            {
                if (NextDue is null || at < NextDue)
                {
                    NextDue = at;
                }
            }
        }
    }
}
