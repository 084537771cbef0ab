using Switchboard.Operations;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>The numbers the operations page and the <c>switchboard</c> CLI show for one consumer group of a destination.</summary>
public sealed partial class KafkaTransport : ITransportInspector
{
    /// <inheritdoc />
    /// <remarks>
    /// Backlog and lag are the group's lag summed over the destination's partitions (records past its committed offsets, see
    /// <see cref="GetStreamInfoAsync"/>); the last error is the newest dead letter's reason. In flight and consumers stay
    /// <see langword="null"/>: Kafka does not know what a member has read and not committed, and the group's members would
    /// need DescribeGroups, which is not read here.
    /// </remarks>
    public async ValueTask<DestinationInfo> InspectAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default)
    {
        KafkaStreamInfo info = await GetStreamInfoAsync(destination, consumerGroup, cancellationToken).ConfigureAwait(false);
        DeadLetterMessage? newest = null;
        if (info.DeadLetters > 0)
        {
            foreach (DeadLetterMessage entry in await GetDeadLetterQueue(destination, consumerGroup).ListAsync(int.MaxValue, cancellationToken).ConfigureAwait(false))
            {
                if (newest is null || entry.DeadLetteredAt > newest.DeadLetteredAt)
                {
                    newest = entry;
                }
            }
        }

        return new DestinationInfo
        {
            Backlog = info.Lag,
            Lag = info.Lag,
            LastError = newest?.Reason.Reason,
            LastErrorAt = newest?.DeadLetteredAt,
        };
    }
}
