using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

/// <summary>
/// A transport over RabbitMQ: one exchange, one durable queue per consumer group and destination bound with the
/// destination as routing key, publisher confirms with <c>mandatory</c> on every send, manual acknowledgement after the
/// handlers succeeded, retries through a per-queue delay queue and a dead-letter queue per group.
/// </summary>
/// <remarks>
/// <para>
/// A send completes when the broker confirmed it; a message no queue is bound for is returned by the broker and the send
/// fails with <see cref="InvalidOperationException"/>. Each queue has its dead-letter queue set as its dead-letter target,
/// so a message the broker itself rejects (a quorum queue's delivery limit) is moved there, not dropped.
/// </para>
/// <para>
/// A retry publishes a copy, confirmed, to <c>{queue}.delay</c> with the delay as its per-message TTL and the delivery
/// count in a header; that queue dead-letters expired messages back into the group's queue. Only then is the original
/// acknowledged: a process that dies in between leaves the original unacknowledged (delivered again), never nothing.
/// </para>
/// </remarks>
public sealed class RabbitMqTransport : ITransport
{
    private readonly ConnectionFactory _factory;
    private readonly PublishSlot[] _publishSlots;
    private readonly ConcurrentDictionary<string, byte> _declaredQueues = new(StringComparer.Ordinal);
    private readonly Lock _connectLock = new();
    private readonly SemaphoreSlim _topologyLock = new(1, 1);
    private Task<IConnection> _connecting;
    private int _exchangeDeclared;
    private int _nextPublishSlot = -1;
    private int _disposed;

    /// <summary>Creates a transport that connects to <see cref="RabbitMqTransportOptions.Uri"/> and owns that connection.</summary>
    /// <param name="options">The options; they are copied and validated.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public RabbitMqTransport(RabbitMqTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        _factory = new ConnectionFactory
        {
            Uri = Options.Uri!,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
            ClientProvidedName = Options.ConnectionName,
        };
        _publishSlots = new PublishSlot[Options.PublishChannelPoolSize];
        for (int i = 0; i < _publishSlots.Length; i++)
        {
            _publishSlots[i] = new PublishSlot();
        }

        _connecting = ConnectAsync();
    }

    /// <inheritdoc />
    public string Name => "rabbitmq";

    /// <inheritdoc />
    /// <remarks>Durable queues and persistent messages; the delay of a retry is the broker's (a delay queue with per-message TTL).</remarks>
    public TransportCapabilities Capabilities => TransportCapabilities.Durable | TransportCapabilities.NativeDelay;

    internal RabbitMqTransportOptions Options { get; }

    /// <summary>Gets the state of the connection to RabbitMQ: outages are counted on the <c>Switchboard</c> meter and reported by <see cref="RabbitMqHealthCheck"/>.</summary>
    public ConnectionMonitor ConnectionMonitor { get; } = new("rabbitmq");

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Gets the queues this transport declared (tests delete them afterwards).</summary>
    internal ICollection<string> DeclaredQueues => _declaredQueues.Keys;

    /// <summary>Returns the transport's connection, once it is established; a failed attempt is retried on the next call.</summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The connection.</returns>
    public Task<IConnection> GetConnectionAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Task<IConnection> connecting = Volatile.Read(ref _connecting);
        if (connecting.IsFaulted || connecting.IsCanceled)
        {
            lock (_connectLock)
            {
                if (ReferenceEquals(_connecting, connecting))
                {
                    _connecting = ConnectAsync();
                }

                connecting = _connecting;
            }
        }

        return connecting.WaitAsync(cancellationToken);
    }

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

    /// <inheritdoc />
    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await DeclareGroupAsync(options.Destination, options.ConsumerGroup, cancellationToken).ConfigureAwait(false);
        IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        ushort prefetch = Options.Prefetch ?? (ushort)Math.Clamp(options.Prefetch, 1, ushort.MaxValue);
        RabbitMqReceiver receiver = new(this, options.Destination, options.ConsumerGroup, options.ConsumerName);
        await receiver.StartAsync(connection, prefetch, cancellationToken).ConfigureAwait(false);
        return receiver;
    }

    /// <inheritdoc />
    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        return new RabbitMqDeadLetterQueue(this, destination, consumerGroup);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (PublishSlot slot in _publishSlots)
        {
            // Under the slot's lock: a send opening a channel meanwhile finishes first, and none opens one afterwards.
            await slot.Lock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (slot.Channel is { } channel)
                {
                    slot.Channel = null;
                    await CloseQuietlyAsync(channel).ConfigureAwait(false);
                }
            }
            finally
            {
                slot.Lock.Release();
            }

            slot.Dispose();
        }

        try
        {
            IConnection connection = await _connecting.ConfigureAwait(false);
            await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            connection.Dispose();
        }
        catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or IOException or InvalidOperationException or AlreadyClosedException)
        {
            // Never connected, or already gone: nothing to close.
        }

        _topologyLock.Dispose();
    }

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

    private async Task<IConnection> ConnectAsync()
    {
        try
        {
            IConnection connection = await _factory.CreateConnectionAsync().ConfigureAwait(false);
            Observe(connection, ConnectionMonitor);
            return connection;
        }
        catch (BrokerUnreachableException ex)
        {
            // The host and port only: the URI carries the credentials.
            throw new InvalidOperationException($"RabbitMQ at {Options.Uri!.Host}:{Options.Uri.Port} is unreachable ({ex.InnerException?.GetType().Name ?? ex.GetType().Name}); the next call tries again.", ex);
        }
    }

    /// <summary>Reports the connection's outages; closing it on purpose is not one.</summary>
    private static void Observe(IConnection connection, ConnectionMonitor monitor)
    {
        connection.ConnectionShutdownAsync += (_, e) =>
        {
            if (e.Initiator != ShutdownInitiator.Application)
            {
                monitor.ReportLost(e.Cause as Exception ?? e.Exception);
            }

            return Task.CompletedTask;
        };
        connection.RecoverySucceededAsync += (_, _) =>
        {
            monitor.ReportRestored();
            return Task.CompletedTask;
        };
    }

    /// <summary>One shared confirm channel, opened on first use and replaced when it closed.</summary>
    private sealed class PublishSlot : IDisposable
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        public IChannel? Channel;

        public void Dispose() => Lock.Dispose();
    }
}
