using System.Globalization;
using Amazon.SQS.Model;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// The dead-letter queue of one consumer group (<c>{queue}--dlq</c>). SQS cannot browse a queue, so listing receives the
/// entries (hiding them for a moment) and returns them at once; replay and delete look for the entry by its SQS message id
/// the same way. Entries the redrive policy moved (a consumer that crashed over and over) carry no reason of the bus and
/// are listed with one that says so.
/// </summary>
internal sealed class SqsDeadLetterQueue(SqsTransport transport, string destination, string group) : IDeadLetterQueue
{
    /// <summary>The most entries one listing reads, to find the oldest.</summary>
    private const int ScanLimit = 1000;
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        List<Message> held = await ScanAsync(dlq, Math.Max(count, ScanLimit), _ => false, cancellationToken).ConfigureAwait(false);
        try
        {
            List<DeadLetterMessage> entries = new(held.Count);
            foreach (Message message in held)
            {
                entries.Add(ToDeadLetter(message));
            }

            entries.Sort(static (a, b) => a.DeadLetteredAt.CompareTo(b.DeadLetteredAt));
            return entries.Count > count ? entries.GetRange(0, count) : entries;
        }
        finally
        {
            await ReleaseAsync(dlq, held).ConfigureAwait(false);
        }
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        GetQueueAttributesResponse response = await transport.CallAsync(c => c.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = dlq.Url,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        }, cancellationToken)).ConfigureAwait(false);
        long total = 0;
        foreach (KeyValuePair<string, string> pair in response.Attributes ?? [])
        {
            total += long.TryParse(pair.Value, CultureInfo.InvariantCulture, out long n) ? n : 0;
        }

        return total;
    }

    public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        List<Message> held = await ScanAsync(dlq, ScanLimit, m => m.MessageId == id, cancellationToken).ConfigureAwait(false);
        Message? found = held.Find(m => m.MessageId == id);
        try
        {
            if (found is null)
            {
                return false;
            }

            await ReplayOneAsync(dlq, found, cancellationToken).ConfigureAwait(false);
            held.Remove(found);
            return true;
        }
        finally
        {
            await ReleaseAsync(dlq, held).ConfigureAwait(false);
        }
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        // Only what is there now: a replayed message that fails again comes back and must not be replayed in this call.
        long limit = await CountAsync(cancellationToken).ConfigureAwait(false);
        int replayed = 0;
        while (replayed < limit)
        {
            List<Message> batch = await ReceiveAsync(dlq, (int)Math.Min(10, limit - replayed), cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                break;
            }

            for (int i = 0; i < batch.Count; i++)
            {
                try
                {
                    await ReplayOneAsync(dlq, batch[i], cancellationToken).ConfigureAwait(false);
                    replayed++;
                }
                catch
                {
                    await ReleaseAsync(dlq, batch.GetRange(i, batch.Count - i)).ConfigureAwait(false);
                    throw;
                }
            }
        }

        return replayed;
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        List<Message> held = await ScanAsync(dlq, ScanLimit, m => m.MessageId == id, cancellationToken).ConfigureAwait(false);
        Message? found = held.Find(m => m.MessageId == id);
        try
        {
            if (found is null)
            {
                return false;
            }

            cancellationToken.ThrowIfCancellationRequested();
            // Once asked, the delete is awaited to its end: the caller learns what happened, not that it stopped looking.
            // Yielding: a delete completes on the thread of its batch, and the caller's code must not run there.
            await dlq.Deleter.EnqueueAsync(found.ReceiptHandle).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            held.Remove(found);
            return true;
        }
        finally
        {
            await ReleaseAsync(dlq, held).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The newest of up to ten entries received without hiding them (visibility 0): the overview's last error. SQS cannot
    /// read a queue by age, so on a queue of more than ten entries this is the newest of a sample, not of the whole queue.
    /// </summary>
    internal async Task<DeadLetterMessage?> SampleNewestAsync(CancellationToken cancellationToken)
    {
        SqsQueue dlq = await QueueAsync(cancellationToken).ConfigureAwait(false);
        ReceiveMessageResponse response = await transport.CallAsync(c => c.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = dlq.Url,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = 0,
            VisibilityTimeout = 0,
            MessageAttributeNames = ["All"],
            MessageSystemAttributeNames = ["ApproximateReceiveCount", "SentTimestamp"],
        }, cancellationToken)).ConfigureAwait(false);
        DeadLetterMessage? newest = null;
        foreach (Message message in response.Messages ?? [])
        {
            DeadLetterMessage entry = ToDeadLetter(message);
            if (newest is null || entry.DeadLetteredAt > newest.DeadLetteredAt)
            {
                newest = entry;
            }
        }

        return newest;
    }

    private Task<SqsQueue> QueueAsync(CancellationToken cancellationToken)
    {
        if (!transport.Options.DeadLetterEnabled)
        {
            throw new InvalidOperationException("Dead-lettering is off (SqsTransportOptions.DeadLetterEnabled): failed messages are deleted, there is no dead-letter queue.");
        }

        return transport.GetDeadLetterQueueAsync(destination, group, cancellationToken);
    }

    /// <summary>Sends the original message to the group's queue only, with a fresh delivery count, then deletes the entry.</summary>
    private async Task ReplayOneAsync(SqsQueue dlq, Message entry, CancellationToken cancellationToken)
    {
        SqsQueue target = await transport.GetGroupQueueAsync(destination, group, cancellationToken).ConfigureAwait(false);
        TransportMessage original = SqsWire.Decode(destination, entry, SqsWire.ReadHeaders(entry));
        SqsWire.Encoded encoded = SqsWire.Encode(original);
        string fresh = Guid.NewGuid().ToString("N");
        bool fifo = transport.Options.Fifo;
        cancellationToken.ThrowIfCancellationRequested();
        // From here on the step is finished whatever the caller's token says: a send left unconfirmed, or a copy sent
        // whose entry stays in the dead-letter queue, would let a later run replay the message a second time.
        await target.Sender.EnqueueAsync(new SendEntry(encoded, original.MessageId, fifo ? original.PartitionKey ?? fresh : null, fifo ? fresh : null)).ConfigureAwait(false);
        await dlq.Deleter.EnqueueAsync(entry.ReceiptHandle).ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // see DeleteAsync
    }

    /// <summary>Receives up to <paramref name="limit"/> entries, stopping early at one that <paramref name="stop"/> accepts.</summary>
    private async Task<List<Message>> ScanAsync(SqsQueue dlq, int limit, Func<Message, bool> stop, CancellationToken cancellationToken)
    {
        List<Message> held = [];
        try
        {
            int empty = 0;
            while (held.Count < limit)
            {
                List<Message> batch = await ReceiveAsync(dlq, Math.Min(10, limit - held.Count), cancellationToken, waitSeconds: empty == 0 ? 0 : 1).ConfigureAwait(false);
                held.AddRange(batch);
                if (batch.Exists(m => stop(m)))
                {
                    break;
                }

                // Short polls may miss messages on some SQS hosts: one long poll confirms the queue is done.
                if (batch.Count == 0 && ++empty >= 2)
                {
                    break;
                }
            }
        }
        catch
        {
            await ReleaseAsync(dlq, held).ConfigureAwait(false);
            throw;
        }

        return held;
    }

    private async Task<List<Message>> ReceiveAsync(SqsQueue dlq, int max, CancellationToken cancellationToken, int waitSeconds = 0)
    {
        ReceiveMessageResponse response = await transport.CallAsync(c => c.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = dlq.Url,
            MaxNumberOfMessages = max,
            WaitTimeSeconds = waitSeconds,
            VisibilityTimeout = (int)Hold.TotalSeconds,
            MessageAttributeNames = ["All"],
            MessageSystemAttributeNames = ["ApproximateReceiveCount", "SentTimestamp"],
        }, cancellationToken)).ConfigureAwait(false);
        return response.Messages ?? [];
    }

    private async Task ReleaseAsync(SqsQueue dlq, List<Message> held)
    {
        for (int start = 0; start < held.Count; start += 10)
        {
            List<ChangeMessageVisibilityBatchRequestEntry> entries = [];
            for (int i = start; i < Math.Min(held.Count, start + 10); i++)
            {
                entries.Add(new ChangeMessageVisibilityBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = held[i].ReceiptHandle, VisibilityTimeout = 0 });
            }

            try
            {
                await transport.CallAsync(c => c.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest { QueueUrl = dlq.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // They become visible again when the hold ends.
                SqsLog.ReleaseFailed(transport.Logger, entries.Count, dlq.Name, ex);
            }
        }
    }

    private DeadLetterMessage ToDeadLetter(Message entry)
    {
        Dictionary<string, string> headers = SqsWire.ReadHeaders(entry);
        headers.TryGetValue(SqsWire.DeadLetterReason, out string? reason);
        headers.TryGetValue(SqsWire.DeadLetterExceptionType, out string? exceptionType);
        headers.TryGetValue(SqsWire.DeadLetterExceptionDetails, out string? details);
        int attempts = headers.TryGetValue(SqsWire.DeadLetterAttempts, out string? a) && int.TryParse(a, CultureInfo.InvariantCulture, out int n) ? n : 0;
        long at = headers.TryGetValue(SqsWire.DeadLetterAt, out string? t) && long.TryParse(t, CultureInfo.InvariantCulture, out long ms) ? ms
            : entry.Attributes is { } system && system.TryGetValue("SentTimestamp", out string? sent) && long.TryParse(sent, CultureInfo.InvariantCulture, out long sentMs) ? sentMs : 0;
        if (reason is null)
        {
            // Moved by SQS's redrive policy: the consumer never settled it (it crashed, or could not reach SQS) that many times.
            int receives = entry.Attributes is { } s && s.TryGetValue("ApproximateReceiveCount", out string? r) && int.TryParse(r, CultureInfo.InvariantCulture, out int rc) ? rc : 0;
            attempts = Math.Max(attempts, transport.Options.RedriveMaxReceiveCount);
            reason = $"Moved by SQS's redrive policy after {transport.Options.RedriveMaxReceiveCount} receive(s) without being settled (the consumer crashed or lost its lease each time; {receives} receive(s) counted in the dead-letter queue).";
        }

        return new DeadLetterMessage
        {
            Id = entry.MessageId,
            Message = SqsWire.Decode(destination, entry, headers),
            Reason = new DeadLetterReason(reason, exceptionType, details, attempts),
            DeadLetteredAt = DateTimeOffset.FromUnixTimeMilliseconds(at),
            ConsumerGroup = group,
        };
    }
}
