using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>The receiver's poll thread and its rebalance callbacks (which librdkafka runs on that thread, inside <c>Consume</c>).</summary>
internal sealed partial class KafkaReceiver
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long the poll thread waits for room in a full partition before it pauses the partition (less when
    /// <c>max.poll.interval.ms</c> is short: at most a quarter of it). librdkafka drops what it has fetched ahead for a
    /// partition that is paused and fetches it again after the resume: a fetch round trip, and the wait for the next fetch,
    /// on every pause. Handlers a little behind (a burst, a GC pause) are absorbed by waiting instead, with everything
    /// fetched kept in librdkafka's queue; only handlers that stay behind (long handlers) get the partition paused.
    /// </summary>
    private static readonly TimeSpan RoomWait = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How often at most the poll thread gives the moved watermarks to librdkafka's offset store. A store is a call into
    /// the client that marshals a partition list both ways (a few allocations and microseconds) per partition; once per settled
    /// record it cost as much as the record's own bookkeeping. What is committed is the same: librdkafka commits the stored offsets
    /// every <see cref="KafkaTransportOptions.CommitInterval"/>, and revoke and stop commit the watermarks themselves.
    /// </summary>
    private static readonly TimeSpan StoreInterval = TimeSpan.FromMilliseconds(10);

    // When the poll thread last stored watermarks (poll thread only).
    private long _lastStore;

    // Partitions assigned whose committed offsets are still to be read (poll thread only).
    private readonly List<TopicPartition> _unlooked = [];

    // The header values decoded once (poll thread only).
    private readonly KafkaHeaderValues _headerValues = new();

    // A partition that reached MaxInFlightPerPartition with the last record read: the poll thread waits for room before it
    // reads on (poll thread only).
    private PartitionState? _full;

    /// <summary>Gets how many times a full partition was paused (read by tests: a partition whose handlers keep up is never paused).</summary>
    internal int Pauses { get; private set; }

    private void Poll()
    {
        IConsumer<byte[]?, byte[]?> consumer = _consumer!;
        try
        {
            consumer.Subscribe(_topic);
            int failures = 0;
            while (!_stopping.IsCancellationRequested)
            {
                if (_resumeWanted)
                {
                    ResumeDrained(consumer);
                }

                if (_full is { } full)
                {
                    _full = null;
                    WaitForRoom(consumer, full);
                }

                if (_storeWanted && TimeProvider.System.GetElapsedTime(_lastStore) >= StoreInterval)
                {
                    StoreWatermarks(consumer);
                }

                ConsumeResult<byte[]?, byte[]?>? record;
                try
                {
                    record = consumer.Consume(PollTimeout);
                    failures = 0;
                }
                catch (ConsumeException ex)
                {
                    // A broker-side error (the topic is being created, the broker restarts): librdkafka recovers; back off a little.
                    _transport.Health.OnError(ex.Error);
                    _stopping.Token.WaitHandle.WaitOne(Math.Min(1000, 50 << Math.Min(failures++, 4)));
                    continue;
                }

                if (record is null || record.IsPartitionEOF)
                {
                    continue;
                }

                _transport.Health.OnDelivered();
                OnRecord(consumer, record);
            }

            CommitBeforeLeaving(consumer);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or KafkaException)
        {
            // Stopping (or the client broke): the finally block leaves the group as well as it can.
            _transport.Health.OnError(ex is KafkaException kafka ? kafka.Error : new Error(ErrorCode.Local_Destroy));
        }
        finally
        {
            try
            {
                // Runs the revoke callback for every partition still owned (which commits a watermark only if CommitBeforeLeaving
                // could not), then leaves the group.
                consumer.Close();
            }
            catch (KafkaException)
            {
                // The broker is unreachable: the group gives the partitions away after the session timeout.
            }

            consumer.Dispose();
            _stopped.TrySetResult();
        }
    }

    private void OnRecord(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> record)
    {
        lock (_gate)
        {
            if (!_partitions.TryGetValue(record.Partition.Value, out PartitionState? state) || state.Revoking)
            {
                return; // fetched just before its partition went: its new owner reads it
            }

            Tracked tracked = new(record.Offset.Value);
            state.Unsettled.Enqueue(tracked);
            TransportMessage message = KafkaWire.ToMessage(_options.Destination, record, _headerValues);
            if (message.Headers.TryGetValue(KafkaWire.ReplayFor, out string? replayFor) && !string.Equals(replayFor, Group, StringComparison.Ordinal))
            {
                // A dead letter replayed for another group: not ours to handle; counted as handled.
                tracked.Settled = true;
                Advance(state);
                return;
            }

            // Kafka keeps no delivery count: a record the previous owner of the partition may have had in flight (up to
            // MaxInFlightPerPartition past the committed offset) counts as a second delivery.
            int deliveryCount = tracked.Offset < state.PossiblyDeliveredBelow ? 2 : 1;
            KafkaReceived received = new(this, state, tracked, message, deliveryCount);
            if (received.Message.PartitionKey is { } key)
            {
                if (state.Keys.TryGetValue(key, out Queue<KafkaReceived>? waiting))
                {
                    // An earlier record of this key is unsettled: wait behind it (the queue exists once a record waits).
                    (waiting ??= state.Keys[key] = new Queue<KafkaReceived>()).Enqueue(received);
                }
                else
                {
                    state.Keys[key] = null;
                    _ready.Writer.TryWrite(received);
                }
            }
            else
            {
                _ready.Writer.TryWrite(received);
            }

            if (!state.Paused && state.Unsettled.Count >= Options.MaxInFlightPerPartition)
            {
                // Enough of this partition is unsettled: wait for room before reading on (WaitForRoom), pause if none comes.
                _full = state;
            }
        }
    }

    /// <summary>
    /// Stores (for librdkafka's background commit) the watermark of every partition that moved since the last store. Only
    /// ever a handled watermark, so a commit of the stored offsets never passes a record whose handlers did not run.
    /// </summary>
    private void StoreWatermarks(IConsumer<byte[]?, byte[]?> consumer)
    {
        _storeWanted = false; // before reading the watermarks: a settle after this asks again
        _lastStore = TimeProvider.System.GetTimestamp();
        List<TopicPartitionOffset> watermarks = [];
        lock (_gate)
        {
            foreach (PartitionState state in _partitions.Values)
            {
                if (!state.Revoking && state.Watermark is { } watermark && watermark != state.Stored)
                {
                    state.Stored = watermark;
                    watermarks.Add(new TopicPartitionOffset(state.Partition, new Offset(watermark)));
                }
            }
        }

        foreach (TopicPartitionOffset watermark in watermarks)
        {
            try
            {
                consumer.StoreOffset(watermark);
            }
            catch (KafkaException)
            {
                // The partition went meanwhile: its new owner starts from the last commit (at-least-once).
            }
        }
    }

    /// <summary>
    /// The last record read filled its partition (<see cref="KafkaTransportOptions.MaxInFlightPerPartition"/> unsettled):
    /// waits until a record of it is settled, for at most <see cref="RoomWait"/>; if none is, pauses the partition and goes
    /// on polling (the member stays in its group, and long handlers do not hold up the other partitions for longer).
    /// </summary>
    private void WaitForRoom(IConsumer<byte[]?, byte[]?> consumer, PartitionState state)
    {
        TimeSpan bound = Options.MaxPollInterval / 4 < RoomWait ? Options.MaxPollInterval / 4 : RoomWait;
        long start = TimeProvider.System.GetTimestamp();
        lock (_gate)
        {
            while (!state.Revoking && !_stopping.IsCancellationRequested && state.Unsettled.Count >= Options.MaxInFlightPerPartition)
            {
                TimeSpan left = bound - TimeProvider.System.GetElapsedTime(start);
                if (left <= TimeSpan.Zero)
                {
                    // Stop fetching it, but keep polling; Advance asks for the resume once it has room again.
                    consumer.Pause([state.Partition]);
                    state.Paused = true;
                    Pauses++;
                    return;
                }

                // Settling a record pulses the gate; the slice bounds how late a stop is noticed.
                Monitor.Wait(_gate, left < PollTimeout ? left : PollTimeout);
            }
        }
    }

    private void ResumeDrained(IConsumer<byte[]?, byte[]?> consumer)
    {
        _resumeWanted = false;
        List<TopicPartition> resume = [];
        lock (_gate)
        {
            foreach (PartitionState state in _partitions.Values)
            {
                if (state.Paused && !state.Revoking && state.Unsettled.Count < Options.MaxInFlightPerPartition)
                {
                    state.Paused = false;
                    resume.Add(state.Partition);
                }
            }
        }

        if (resume.Count > 0)
        {
            consumer.Resume(resume);
        }
    }

    private void OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        lock (_gate)
        {
            foreach (TopicPartition partition in partitions)
            {
                // Assigned while stopping (a rebalance during CommitBeforeLeaving): nothing of it is handed out.
                _partitions[partition.Partition.Value] = new PartitionState(partition) { Revoking = _stopping.IsCancellationRequested };
            }
        }

        // The committed offsets are read now, before any record of these partitions is handed out (LookUpCommitted).
        _unlooked.AddRange(partitions);
        LookUpCommitted(consumer);
        _transport.Health.OnDelivered();
        _firstAssignment.TrySetResult();
    }

    /// <summary>
    /// Reads the group's committed offsets of newly assigned partitions, before any of their records is handed out: Kafka
    /// keeps no delivery count, so records the previous owner may have had in flight (up to MaxInFlightPerPartition past
    /// the committed offset) count as a second delivery.
    /// </summary>
    private void LookUpCommitted(IConsumer<byte[]?, byte[]?> consumer)
    {
        List<TopicPartition> partitions = [.. _unlooked];
        _unlooked.Clear();
        if (partitions.Count == 0)
        {
            return; // an empty (incremental) assignment: nothing to look up (librdkafka can block on an empty request)
        }

        List<TopicPartitionOffset> committed = [];
        try
        {
            committed = consumer.Committed(partitions, KafkaTransport.OperationTimeout);
        }
        catch (KafkaException)
        {
            // Unknown: every record counts as a first delivery.
        }

        List<TopicPartition> uncommitted = [];
        lock (_gate)
        {
            foreach (TopicPartitionOffset offset in committed)
            {
                if (!_partitions.TryGetValue(offset.Partition.Value, out PartitionState? state))
                {
                    continue;
                }

                if (offset.Offset.IsSpecial)
                {
                    uncommitted.Add(offset.TopicPartition);
                }
                else
                {
                    state.Committed = offset;
                    state.PossiblyDeliveredBelow = offset.Offset.Value + Options.MaxInFlightPerPartition;
                }
            }
        }

        CommitStartingPoints(consumer, uncommitted);
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        List<TopicPartitionOffset> commit = [];
        lock (_gate)
        {
            List<PartitionState> leaving = [];
            foreach (TopicPartitionOffset partition in partitions)
            {
                if (_partitions.TryGetValue(partition.Partition.Value, out PartitionState? state))
                {
                    state.Revoking = true; // nothing more of it is handed out
                    leaving.Add(state);
                }
            }

            // Let what the handlers hold finish (not when stopping: the bus has already drained or given up on it).
            DateTime deadline = TimeProvider.System.GetUtcNow().UtcDateTime + Options.RevokeTimeout;
            while (!_stopping.IsCancellationRequested && leaving.Any(s => s.InFlight > 0))
            {
                TimeSpan left = deadline - TimeProvider.System.GetUtcNow().UtcDateTime;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left))
                {
                    break;
                }
            }

            foreach (PartitionState state in leaving)
            {
                state.Revoked = true;
                _partitions.Remove(state.Partition.Partition.Value);
                // Commit the watermark of every partition that was read: also when nothing was handled, so that the next
                // owner knows that records past it may have been delivered before (see PossiblyDeliveredBelow).
                if (Position(state) is { } position && position != state.Committed)
                {
                    commit.Add(position);
                }
            }
        }

        if (commit.Count > 0)
        {
            try
            {
                consumer.Commit(commit);
            }
            catch (KafkaException ex)
            {
                // Not committed: the next owner starts from the previous commit and handles some records again.
                _transport.Health.OnError(ex.Error);
            }
        }
    }

    private void OnLost(List<TopicPartitionOffset> partitions)
    {
        // The session expired: the partitions already belong to someone else. Commit nothing; drop what was waiting.
        lock (_gate)
        {
            foreach (TopicPartitionOffset partition in partitions)
            {
                if (_partitions.Remove(partition.Partition.Value, out PartitionState? state))
                {
                    state.Revoking = true;
                    state.Revoked = true;
                }
            }

            Monitor.PulseAll(_gate);
        }
    }
}
