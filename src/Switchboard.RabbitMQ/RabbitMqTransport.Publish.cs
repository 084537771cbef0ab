using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

public sealed partial class RabbitMqTransport
{
    /// <inheritdoc />
    public async ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await EnsureExchangeAsync(cancellationToken).ConfigureAwait(false);
        string routingKey = RoutingKey(message);
        await PublishAsync(Options.ExchangeName, routingKey, RabbitMqWire.ToProperties(message), message.Body, message.MessageId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The routing key of a message: on a topic exchange, a <see cref="DomainEvent"/>'s is <c>{AggregateType}.{destination}</c>
    /// (seed 001's <c>{aggregate_type}.{event_type}</c> when the destination is the type's stable name, the default), so
    /// that other applications can bind <c>Order.#</c>; every other message's is its destination. Fanout ignores keys.
    /// </summary>
    internal string RoutingKey(TransportMessage message)
    {
        if (Options.ExchangeType == RabbitMqExchangeType.Fanout)
        {
            return string.Empty;
        }

        return Options.ExchangeType == RabbitMqExchangeType.Topic && message.GetHeader(MessageHeaders.AggregateType) is { Length: > 0 } aggregateType
            ? $"{RoutingWord(aggregateType)}.{message.Destination}"
            : message.Destination;
    }

    /// <summary>An aggregate type as one routing-key word: dots (word separators) and the pattern characters become '_'.</summary>
    private static string RoutingWord(string value)
        => value.AsSpan().IndexOfAny('.', '*', '#') < 0 ? value : value.Replace('.', '_').Replace('*', '_').Replace('#', '_');

    /// <summary>
    /// Publishes on one of the shared confirm channels and waits for the broker's confirm of this message; a return or a
    /// nack fails this send only.
    /// </summary>
    /// <remarks>
    /// Concurrent sends share the channels (round robin) with several publishes in flight on each: the client numbers the
    /// publishes of a channel and completes each one's task when the broker acknowledges its number, alone or in a
    /// <c>multiple</c> acknowledgement that covers several. So a send still completes only when its own message is
    /// confirmed, while the broker confirms (and syncs to disk) many at once instead of one per channel at a time.
    /// A channel the broker or the network closed fails the sends in flight on it (none of them was confirmed) and is
    /// replaced by the next send that picks its slot.
    /// </remarks>
    internal async Task PublishAsync(string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, string messageId, CancellationToken cancellationToken)
    {
        try
        {
            await PublishConfirmedAsync(exchange, routingKey, properties, body, messageId, cancellationToken).WaitAsync(Options.SendTimeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"RabbitMQ did not confirm message '{messageId}' to exchange '{exchange}' within {Options.SendTimeout.TotalSeconds:0.###} s (RabbitMqTransportOptions.SendTimeout); " +
                "it may or may not have been stored: send it again (the inbox removes the duplicate).",
                ex);
        }
    }

    private async Task PublishConfirmedAsync(string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, string messageId, CancellationToken cancellationToken)
    {
        IChannel channel = await GetPublishChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, body, cancellationToken).ConfigureAwait(false);
        }
        catch (PublishException ex) when (ex.IsReturn)
        {
            throw new InvalidOperationException(
                $"RabbitMQ returned message '{messageId}' as unroutable: no queue is bound to exchange '{exchange}' for routing key '{routingKey}'. " +
                "Start a consumer of that destination first (its queue is declared when it starts), or declare and bind the queue.", ex);
        }
        catch (PublishException ex)
        {
            throw new InvalidOperationException($"RabbitMQ did not confirm message '{messageId}' sent to exchange '{exchange}' (nack): it may not be stored; send it again.", ex);
        }
    }

    /// <summary>Returns the open confirm channel of the next slot, opening one when the slot has none or its channel closed.</summary>
    private ValueTask<IChannel> GetPublishChannelAsync(CancellationToken cancellationToken)
    {
        uint next = (uint)Interlocked.Increment(ref _nextPublishSlot);
        PublishSlot slot = _publishSlots[next % (uint)_publishSlots.Length];
        IChannel? channel = Volatile.Read(ref slot.Channel);
        return channel is { IsOpen: true } ? ValueTask.FromResult(channel) : OpenPublishChannelAsync(slot, cancellationToken);
    }

    private async ValueTask<IChannel> OpenPublishChannelAsync(PublishSlot slot, CancellationToken cancellationToken)
    {
        await slot.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (slot.Channel is { IsOpen: true } open)
            {
                return open;
            }

            if (slot.Channel is { } closed)
            {
                // Closed by the broker or the network: the sends that were in flight on it have already failed.
                slot.Channel = null;
                await CloseQuietlyAsync(closed).ConfigureAwait(false);
            }

            IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            IChannel channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
                cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref slot.Channel, channel);
            return channel;
        }
        finally
        {
            slot.Lock.Release();
        }
    }

    /// <summary>One shared confirm channel, opened on first use and replaced when it closed.</summary>
    private sealed class PublishSlot : IDisposable
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        public IChannel? Channel;

        public void Dispose() => Lock.Dispose();
    }
}
