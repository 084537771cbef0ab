using System.Text;
using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>
/// The dead-letter topic of one consumer group, <c>{topic}.{group}.dlq</c>. An entry's id is <c>{partition}-{offset}</c> on
/// that topic. Kafka cannot delete a record: replaying or deleting an entry appends a marker record (header
/// <c>sb-dlq-settles</c> = the id) to the same topic, and listing reads the topic from its start and leaves out every entry
/// a marker settles. A replay goes back to the destination's topic marked for this group only; other groups skip it.
/// </summary>
internal sealed class KafkaDeadLetterQueue(KafkaTransport transport, string destination, string group) : IDeadLetterQueue
{
    private readonly string _topic = KafkaWire.DeadLetterTopic(transport.Options.TopicPrefix, destination, group);

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        List<Entry> entries = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return [.. entries.Take(count).Select(e => e.Message)];
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
        => (await ReadAsync(cancellationToken).ConfigureAwait(false)).Count;

    public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Entry? entry = (await ReadAsync(cancellationToken).ConfigureAwait(false)).Find(e => e.Message.Id == id);
        if (entry is null)
        {
            return false;
        }

        await ReplayAsync(entry, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        // Only what is there now: a replayed message that fails again comes back as a new entry, not replayed twice.
        int replayed = 0;
        foreach (Entry entry in await ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            await ReplayAsync(entry, cancellationToken).ConfigureAwait(false);
            replayed++;
        }

        return replayed;
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Entry? entry = (await ReadAsync(cancellationToken).ConfigureAwait(false)).Find(e => e.Message.Id == id);
        if (entry is null)
        {
            return false;
        }

        await SettleAsync(entry, "deleted", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends the original back to the destination's topic (same key, so the same partition) for this group only, confirmed; then marks the entry settled.</summary>
    private async Task ReplayAsync(Entry entry, CancellationToken cancellationToken)
    {
        Dictionary<string, string> original = new(StringComparer.Ordinal);
        foreach ((string key, string value) in entry.Message.Message.Headers)
        {
            if (!key.StartsWith("sb-dlq-", StringComparison.Ordinal) && key != KafkaWire.ReplayFor)
            {
                original[key] = value;
            }
        }

        Headers headers = transport.HeaderWriter.ToHeaders(original, entry.Message.Message.PartitionKey);
        headers.Add(KafkaWire.ReplayFor, Encoding.UTF8.GetBytes(group));
        await transport.ProduceAsync(KafkaWire.Topic(transport.Options.TopicPrefix, destination), entry.Key, entry.Message.Message.Body.ToArray(), headers, cancellationToken).ConfigureAwait(false);
        await SettleAsync(entry, "replayed", cancellationToken).ConfigureAwait(false);
    }

    private async Task SettleAsync(Entry entry, string action, CancellationToken cancellationToken)
    {
        Headers marker = [];
        marker.Add(KafkaWire.DeadLetterSettles, Encoding.UTF8.GetBytes(entry.Message.Id));
        marker.Add("sb-dlq-action", Encoding.UTF8.GetBytes(action));
        await transport.ProduceAsync(_topic, entry.Key, [], marker, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the whole dead-letter topic up to its current end: the entries no marker settles, oldest first.</summary>
    private Task<List<Entry>> ReadAsync(CancellationToken cancellationToken)
        => Task.Run(() =>
        {
            ObjectDisposedException.ThrowIf(transport.IsDisposed, transport);
            List<TopicPartition> partitions = transport.Partitions(_topic);
            if (partitions.Count == 0)
            {
                return [];
            }

            ConsumerConfig config = transport.ConsumerConfig($"switchboard-dlq-reader-{Guid.NewGuid():N}", "dlq-reader");
            config.EnableAutoCommit = false;
            using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).SetLogHandler(static (_, _) => { }).Build();
            Dictionary<int, long> ends = [];
            List<TopicPartitionOffset> starts = [];
            foreach (TopicPartition partition in partitions)
            {
                WatermarkOffsets marks = consumer.QueryWatermarkOffsets(partition, KafkaTransport.OperationTimeout);
                if (marks.High.Value > marks.Low.Value)
                {
                    ends[partition.Partition.Value] = marks.High.Value;
                    starts.Add(new TopicPartitionOffset(partition, marks.Low));
                }
            }

            Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
            HashSet<string> settled = new(StringComparer.Ordinal);
            if (starts.Count > 0)
            {
                consumer.Assign(starts);
                DateTime deadline = TimeProvider.System.GetUtcNow().UtcDateTime + KafkaTransport.OperationTimeout;
                while (ends.Count > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (TimeProvider.System.GetUtcNow().UtcDateTime > deadline)
                    {
                        throw new TimeoutException($"Reading the dead-letter topic '{_topic}' took longer than {KafkaTransport.OperationTimeout.TotalSeconds:0} s.");
                    }

                    ConsumeResult<byte[]?, byte[]?>? record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    if (record is null || record.IsPartitionEOF)
                    {
                        continue;
                    }

                    Read(record, entries, settled);
                    if (ends.TryGetValue(record.Partition.Value, out long end) && record.Offset.Value + 1 >= end)
                    {
                        ends.Remove(record.Partition.Value);
                    }
                }
            }

            return entries.Values
                .Where(e => !settled.Contains(e.Message.Id))
                .OrderBy(e => e.Message.DeadLetteredAt)
                .ThenBy(e => e.Message.Id, StringComparer.Ordinal)
                .ToList();
        }, cancellationToken);

    private void Read(ConsumeResult<byte[]?, byte[]?> record, Dictionary<string, Entry> entries, HashSet<string> settled)
    {
        TransportMessage message = KafkaWire.ToMessage(destination, record);
        IReadOnlyDictionary<string, string> headers = message.Headers;
        if (headers.TryGetValue(KafkaWire.DeadLetterSettles, out string? settles))
        {
            settled.Add(settles);
            return;
        }

        string id = $"{record.Partition.Value}-{record.Offset.Value}";
        long at = KafkaWire.ParseLong(headers.GetValueOrDefault(KafkaWire.DeadLetterAt)) ?? record.Message.Timestamp.UnixTimestampMs;
        entries[id] = new Entry(record.Message.Key, new DeadLetterMessage
        {
            Id = id,
            Message = message,
            Reason = new DeadLetterReason(
                headers.GetValueOrDefault(KafkaWire.DeadLetterReason) ?? "Dead-lettered (no reason recorded).",
                NullIfEmpty(headers.GetValueOrDefault(KafkaWire.DeadLetterExceptionType)),
                NullIfEmpty(headers.GetValueOrDefault(KafkaWire.DeadLetterExceptionDetails)),
                (int)(KafkaWire.ParseLong(headers.GetValueOrDefault(KafkaWire.DeadLetterAttempts)) ?? 0)),
            DeadLetteredAt = DateTimeOffset.FromUnixTimeMilliseconds(at),
            ConsumerGroup = headers.GetValueOrDefault(KafkaWire.DeadLetterGroup) ?? group,
        });
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private sealed record Entry(byte[]? Key, DeadLetterMessage Message);
}
