using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Switchboard.RabbitMQ;

public sealed partial class RabbitMqTransport
{
    /// <summary>Declares the exchange, the group's queue (bound), its delay queue and its dead-letter queue.</summary>
    internal async Task DeclareGroupAsync(string destination, string group, CancellationToken cancellationToken)
    {
        if (!Options.CreateTopology)
        {
            return;
        }

        await EnsureExchangeAsync(cancellationToken).ConfigureAwait(false);
        string queue = RabbitMqWire.Queue(destination, group);
        string delay = RabbitMqWire.DelayQueue(destination, group);
        string deadLetters = RabbitMqWire.DeadLetterQueue(destination, group);
        IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        IChannel channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            // The dead-letter queue is always classic: it is browsed by get-and-requeue, which a quorum queue's delivery limit would punish.
            await channel.QueueDeclareAsync(deadLetters, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            _declaredQueues.TryAdd(deadLetters, 0);
            Dictionary<string, object?> arguments = new(StringComparer.Ordinal)
            {
                ["x-dead-letter-exchange"] = string.Empty,
                ["x-dead-letter-routing-key"] = deadLetters,
            };
            if (Options.QuorumQueues)
            {
                arguments["x-queue-type"] = "quorum";
            }

            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
            _declaredQueues.TryAdd(queue, 0);
            // Expired retries go back to the group's queue only, never through the exchange that other groups read.
            Dictionary<string, object?> delayArguments = new(StringComparer.Ordinal)
            {
                ["x-dead-letter-exchange"] = string.Empty,
                ["x-dead-letter-routing-key"] = queue,
            };
            await channel.QueueDeclareAsync(delay, durable: true, exclusive: false, autoDelete: false, arguments: delayArguments, cancellationToken: cancellationToken).ConfigureAwait(false);
            _declaredQueues.TryAdd(delay, 0);
            string bindingKey = Options.ExchangeType == RabbitMqExchangeType.Fanout ? string.Empty : destination;
            await channel.QueueBindAsync(queue, Options.ExchangeName, bindingKey, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (Options.ExchangeType == RabbitMqExchangeType.Topic)
            {
                // Domain events are published as {AggregateType}.{destination}: one more binding takes them, whatever the aggregate.
                await channel.QueueBindAsync(queue, Options.ExchangeName, "*." + destination, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    internal static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            if (channel.IsOpen)
            {
                await channel.CloseAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException or IOException or ObjectDisposedException or TimeoutException or OperationCanceledException)
        {
            // Closing a channel on a connection that is going away: the broker has already released it.
        }

        channel.Dispose();
    }

    private async Task EnsureExchangeAsync(CancellationToken cancellationToken)
    {
        if (!Options.CreateTopology || Volatile.Read(ref _exchangeDeclared) != 0)
        {
            return;
        }

        await _topologyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_exchangeDeclared != 0)
            {
                return;
            }

            IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            IChannel channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                string type = Options.ExchangeType switch
                {
                    RabbitMqExchangeType.Direct => global::RabbitMQ.Client.ExchangeType.Direct,
                    RabbitMqExchangeType.Fanout => global::RabbitMQ.Client.ExchangeType.Fanout,
                    _ => global::RabbitMQ.Client.ExchangeType.Topic,
                };
                await channel.ExchangeDeclareAsync(Options.ExchangeName, type, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _exchangeDeclared, 1);
            }
            finally
            {
                await CloseQuietlyAsync(channel).ConfigureAwait(false);
            }
        }
        finally
        {
            _topologyLock.Release();
        }
    }
}
