using RabbitMQ.Client.Exceptions;
using RabbitMQ.Client;
using Switchboard.Operations;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

/// <summary>
/// The dead-letter queue of one consumer group, <c>{destination}.{group}.dlq</c>. RabbitMQ has no browse: listing takes
/// messages with <c>basic.get</c> on a private channel without acknowledging them, and closing that channel puts them back
/// in place. Replay and delete take messages the same way until the one with the id, settle it, and put the rest back.
/// </summary>
/// <remarks>
/// Settling many (<see cref="IDeadLetterBatch"/>) is one such pass over the queue as it was when the pass started: each
/// selected message is replayed (confirmed) and then acknowledged, one at a time, so an interrupted pass leaves every
/// message either replayed or still here; the rest go back in place when the channel closes.
/// </remarks>
internal sealed class RabbitMqDeadLetterQueue(RabbitMqTransport transport, string destination, string group) : IDeadLetterQueue, IDeadLetterBatch
{
    private readonly string _queue = RabbitMqWire.DeadLetterQueue(destination, group);

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        IChannel channel = await OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<DeadLetterMessage> list = [];
            while (list.Count < count)
            {
                BasicGetResult? result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
                if (result is null)
                {
                    break;
                }

                list.Add(ToDeadLetter(result));
            }

            return list;
        }
        finally
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        IChannel channel = await OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            QueueDeclareOk ok = await channel.QueueDeclarePassiveAsync(_queue, cancellationToken).ConfigureAwait(false);
            return ok.MessageCount;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return 0; // no dead-letter queue yet: nothing was ever dead-lettered here
        }
        finally
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    public ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return new(SettleOneAsync(id, replay: true, cancellationToken));
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        // Only what is there now: a replayed message that fails again comes back to the end, and is not replayed twice.
        long remaining = await CountAsync(cancellationToken).ConfigureAwait(false);
        int replayed = 0;
        IChannel channel = await OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (remaining-- > 0)
            {
                BasicGetResult? result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
                if (result is null)
                {
                    break;
                }

                await ReplayAsync(result, cancellationToken).ConfigureAwait(false);
                await channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
                replayed++;
            }

            return replayed;
        }
        finally
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return new(SettleOneAsync(id, replay: false, cancellationToken));
    }

    public async ValueTask SettleManyAsync(IReadOnlyCollection<string> ids, bool replay, Action<string, bool> settled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(settled);
        HashSet<string> wanted = new(ids, StringComparer.Ordinal);
        if (wanted.Count == 0)
        {
            return;
        }

        // Only what is there now: a replayed message that fails again comes back to the end and is not met twice.
        long remaining = await CountAsync(cancellationToken).ConfigureAwait(false);
        IChannel channel = await OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (remaining-- > 0 && wanted.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                BasicGetResult? result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
                if (result is null)
                {
                    break;
                }

                string id = IdOf(result);
                if (!wanted.Remove(id))
                {
                    continue; // held unacknowledged until the channel closes, then back in place
                }

                if (replay)
                {
                    await ReplayAsync(result, CancellationToken.None).ConfigureAwait(false);
                }

                await channel.BasicAckAsync(result.DeliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
                settled(id, true);
            }
        }
        finally
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }

        foreach (string missing in wanted)
        {
            settled(missing, false);
        }
    }

    private async Task<bool> SettleOneAsync(string id, bool replay, CancellationToken cancellationToken)
    {
        IChannel channel = await OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                BasicGetResult? result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
                if (result is null)
                {
                    return false;
                }

                if (IdOf(result) != id)
                {
                    // Held, unacknowledged, until the channel closes: then it goes back in place.
                    continue;
                }

                if (replay)
                {
                    await ReplayAsync(result, cancellationToken).ConfigureAwait(false);
                }

                await channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
        finally
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the original back to the group's queue only (through the default exchange), with a fresh attempt count; confirmed.</summary>
    private Task ReplayAsync(BasicGetResult result, CancellationToken cancellationToken)
    {
        BasicProperties properties = RabbitMqWire.Copy(result.BasicProperties);
        IDictionary<string, object?> headers = properties.Headers!;
        foreach (string key in headers.Keys.Where(static k => DeadLetterHeaders.IsDeadLetterHeader(k) || k.StartsWith(RabbitMqWire.LegacyDeadLetterPrefix, StringComparison.Ordinal) || k.StartsWith("x-death", StringComparison.Ordinal) || k.StartsWith("x-first-death", StringComparison.Ordinal) || k.StartsWith("x-last-death", StringComparison.Ordinal)).ToList())
        {
            headers.Remove(key);
        }

        headers.Remove(RabbitMqWire.Attempts);
        TransportMessage original = RabbitMqWire.ToMessage(destination, result.BasicProperties, result.Body);
        properties.MessageId = original.MessageId.Length > 0 ? original.MessageId : null;
        return transport.PublishAsync(string.Empty, RabbitMqWire.Queue(destination, group), properties, result.Body.ToArray(), original.MessageId, cancellationToken);
    }

    private async Task<IChannel> OpenChannelAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(transport.IsDisposed, transport);
        IConnection connection = await transport.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static string IdOf(BasicGetResult result)
        => result.BasicProperties.MessageId is { Length: > 0 } id ? id : $"tag-{result.DeliveryTag}";

    private DeadLetterMessage ToDeadLetter(BasicGetResult result)
    {
        // Messages the broker dead-lettered itself (a quorum queue's delivery limit, a reject) carry its reason instead of ours.
        IReadOnlyBasicProperties properties = result.BasicProperties;
        return DeadLetterHeaders.Read(
            IdOf(result),
            RabbitMqWire.ToMessage(destination, properties, result.Body.ToArray()),
            group,
            $"Dead-lettered by RabbitMQ ({RabbitMqWire.GetString(properties, "x-first-death-reason") ?? "unknown reason"}).",
            DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime));
    }
}
