using Confluent.Kafka;

namespace Switchboard.Kafka;

/// <summary>
/// The commits that tell the partition's next owner where this member got to. Kafka keeps no delivery count: the next owner
/// counts the records just past the committed offset as possibly delivered before (see <see cref="PartitionState.PossiblyDeliveredBelow"/>),
/// so a committed offset must exist, and be this member's, whenever records of the partition were handed out.
/// </summary>
internal sealed partial class KafkaReceiver
{
    /// <summary>
    /// On a graceful stop, before leaving the group: commits, per partition still owned, the offset up to which records were
    /// handled (or the first one read and not handled). A group coordinator refuses commits while the group rebalances (a
    /// member joining: the librdkafka mock refuses them from the join until every member has synced, a real broker while the
    /// group completes its rebalance), and a commit made from the revoke callback of <c>Close</c> cannot wait for that; so the
    /// commit is made here, retried while this member keeps polling (which lets it take part in the rebalance), for at most
    /// <see cref="KafkaTransportOptions.RevokeTimeout"/> plus <see cref="KafkaTransportOptions.SessionTimeout"/>.
    /// </summary>
    private void CommitBeforeLeaving(IConsumer<byte[]?, byte[]?> consumer)
    {
        // The store too (not only the commit below): Close may commit the stored offsets, which must not lag behind.
        StoreWatermarks(consumer);
        lock (_gate)
        {
            foreach (PartitionState state in _partitions.Values)
            {
                state.Revoking = true; // nothing more is handed out; records fetched meanwhile are left to the next owner
            }
        }

        try
        {
            consumer.Pause(consumer.Assignment);
        }
        catch (KafkaException)
        {
            // Not paused: records that still arrive are dropped by OnRecord (their partitions are revoking).
        }

        DateTimeOffset deadline = TimeProvider.System.GetUtcNow() + Options.RevokeTimeout + Options.SessionTimeout;
        while (true)
        {
            List<TopicPartitionOffset> positions = [];
            lock (_gate)
            {
                foreach (PartitionState state in _partitions.Values)
                {
                    if (Position(state) is { } position && position != state.Committed)
                    {
                        positions.Add(position);
                    }
                }
            }

            if (positions.Count == 0)
            {
                return;
            }

            try
            {
                consumer.Commit(positions);
                MarkCommitted(positions);
                return;
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal && TimeProvider.System.GetUtcNow() < deadline)
            {
                // Most likely the group is rebalancing: poll (this runs the rebalance callbacks), then try again.
                _transport.Health.OnError(ex.Error);
                try
                {
                    _ = consumer.Consume(PollTimeout);
                }
                catch (ConsumeException consumeError)
                {
                    _transport.Health.OnError(consumeError.Error);
                }
            }
            catch (KafkaException ex)
            {
                // Given up: the next owner starts from the previous commit (at-least-once) and may count some records as first deliveries.
                _transport.Health.OnError(ex.Error);
                return;
            }
        }
    }

    /// <summary>The offset to commit for a partition: its handled watermark, else the first record read (nothing handled yet), else none.</summary>
    private static TopicPartitionOffset? Position(PartitionState state)
    {
        if (state.Watermark is { } watermark)
        {
            return new TopicPartitionOffset(state.Partition, new Offset(watermark));
        }

        return state.Unsettled.TryPeek(out Tracked? first) ? new TopicPartitionOffset(state.Partition, new Offset(first.Offset)) : null;
    }

    private void MarkCommitted(List<TopicPartitionOffset> offsets)
    {
        lock (_gate)
        {
            foreach (TopicPartitionOffset offset in offsets)
            {
                if (_partitions.TryGetValue(offset.Partition.Value, out PartitionState? state))
                {
                    state.Committed = offset;
                }
            }
        }
    }

    /// <summary>
    /// For newly assigned partitions the group has never committed: commits the offset this member starts from (the log's
    /// start, or its end, per <c>auto.offset.reset</c>) before any record is handed out. Without it, a member that took
    /// records of a brand-new group and then died without committing would leave nothing to tell the next owner that those
    /// records were delivered. Runs in the assignment callback (the group has just synced); if the commit fails, the
    /// partition stays without a reference and its first records count as first deliveries.
    /// </summary>
    private void CommitStartingPoints(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> uncommitted)
    {
        bool? fromStart = StartsFromLogStart();
        if (uncommitted.Count == 0 || fromStart is null)
        {
            return;
        }

        List<TopicPartitionOffset> starts = [];
        try
        {
            foreach (TopicPartition partition in uncommitted)
            {
                WatermarkOffsets marks = consumer.QueryWatermarkOffsets(partition, KafkaTransport.OperationTimeout);
                starts.Add(new TopicPartitionOffset(partition, fromStart.Value ? marks.Low : marks.High));
            }

            consumer.Commit(starts);
        }
        catch (KafkaException ex)
        {
            _transport.Health.OnError(ex.Error);
            return;
        }

        lock (_gate)
        {
            foreach (TopicPartitionOffset start in starts)
            {
                if (_partitions.TryGetValue(start.Partition.Value, out PartitionState? state))
                {
                    state.Committed = start; // this member is the first: its records count as first deliveries
                }
            }
        }
    }

    /// <summary>Whether a group without a commit starts at the log's start (true), its end (false), or neither is known (null: an error policy).</summary>
    private bool? StartsFromLogStart()
    {
        string reset = Options.Settings.TryGetValue("auto.offset.reset", out string? value) ? value : "earliest";
        return reset.ToUpperInvariant() switch
        {
            "EARLIEST" or "SMALLEST" or "BEGINNING" => true,
            "LATEST" or "LARGEST" or "END" => false,
            _ => null,
        };
    }
}
