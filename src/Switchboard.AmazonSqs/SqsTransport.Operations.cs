using Amazon.SQS.Model;
using Switchboard.Operations;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>What the operations page and the <c>switchboard</c> CLI read of SQS: the numbers of a group and the groups there are.</summary>
public sealed partial class SqsTransport : ITransportInspector
{
    /// <inheritdoc />
    /// <remarks>
    /// SQS's approximate counts of the group's queue: <see cref="DestinationInfo.Backlog"/> is
    /// <c>ApproximateNumberOfMessages</c> (visible), <see cref="DestinationInfo.InFlight"/>
    /// <c>ApproximateNumberOfMessagesNotVisible</c> (being handled, or waiting out a retry delay) and
    /// <see cref="DestinationInfo.Delayed"/> <c>ApproximateNumberOfMessagesDelayed</c>. SQS does not know its consumers
    /// (<see cref="DestinationInfo.Consumers"/> stays <see langword="null"/>) nor a lag. The last error is the newest reason
    /// among up to ten dead letters read without hiding them.
    /// </remarks>
    public async ValueTask<DestinationInfo> InspectAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        SqsQueue queue = await GetGroupQueueAsync(destination, consumerGroup, cancellationToken).ConfigureAwait(false);
        Dictionary<string, string> counts = await GetCountsAsync(queue.Url, cancellationToken).ConfigureAwait(false);
        DeadLetterMessage? newest = Options.DeadLetterEnabled
            ? await new SqsDeadLetterQueue(this, destination, consumerGroup).SampleNewestAsync(cancellationToken).ConfigureAwait(false)
            : null;
        return new DestinationInfo
        {
            Backlog = Count(counts, "ApproximateNumberOfMessages"),
            InFlight = Count(counts, "ApproximateNumberOfMessagesNotVisible"),
            Delayed = Count(counts, "ApproximateNumberOfMessagesDelayed"),
            LastError = newest?.Reason.Reason,
            LastErrorAt = newest?.DeadLetteredAt,
        };
    }

    /// <summary>
    /// Lists the consumer groups SQS holds under <see cref="SqsTransportOptions.QueueNamePrefix"/>: every group queue, and
    /// every dead-letter queue whose group queue is gone (of this transport's kind, standard or FIFO).
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The groups, by destination then group. Names longer than 24 characters are the shortened names of the queues.</returns>
    public async Task<IReadOnlyList<SqsConsumerGroup>> ListConsumerGroupsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        SortedSet<SqsConsumerGroup> found = new(Comparer<SqsConsumerGroup>.Create(static (a, b) =>
        {
            int byDestination = string.CompareOrdinal(a.Destination, b.Destination);
            return byDestination != 0 ? byDestination : string.CompareOrdinal(a.ConsumerGroup, b.ConsumerGroup);
        }));
        string? next = null;
        do
        {
            ListQueuesResponse page = await CallAsync(c => c.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = Options.QueueNamePrefix, MaxResults = 1000, NextToken = next }, cancellationToken)).ConfigureAwait(false);
            foreach (string url in page.QueueUrls ?? [])
            {
                if (SqsQueueNames.TryParse(SqsQueueNames.NameOf(url), Options.QueueNamePrefix, Options.Fifo, out string destination, out string group))
                {
                    found.Add(new SqsConsumerGroup(destination, group));
                }
            }

            next = page.NextToken;
        }
        while (!string.IsNullOrEmpty(next));

        return [.. found];
    }
}

/// <summary>One consumer group of a destination, as its SQS queue names it.</summary>
/// <param name="Destination">The destination.</param>
/// <param name="ConsumerGroup">The consumer group.</param>
public sealed record SqsConsumerGroup(string Destination, string ConsumerGroup);
