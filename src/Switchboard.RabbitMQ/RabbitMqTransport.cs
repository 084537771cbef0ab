using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Switchboard.Operations;
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
public sealed partial class RabbitMqTransport : ITransport, ITransportInspector
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
            RequestedHeartbeat = Options.Heartbeat,
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
    /// <remarks>
    /// Backlog is the group queue's ready messages and consumers its consumers, from a passive declare; messages in flight
    /// (delivered, unacknowledged) and lag are not told by AMQP (only by the management plugin) and stay unknown. A queue
    /// that does not exist yet reads as empty, without consumers.
    /// </remarks>
    public async ValueTask<DestinationInfo> InspectAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        IChannel channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            QueueDeclareOk ok = await channel.QueueDeclarePassiveAsync(RabbitMqWire.Queue(destination, consumerGroup), cancellationToken).ConfigureAwait(false);
            return new DestinationInfo { Backlog = ok.MessageCount, Consumers = (int)ok.ConsumerCount };
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return new DestinationInfo { Backlog = 0, Consumers = 0 };
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await DeclareGroupAsync(options.Destination, options.ConsumerGroup, cancellationToken).ConfigureAwait(false);
        IConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        ushort prefetch = Options.Prefetch ?? (ushort)Math.Clamp(options.Prefetch, 1, ushort.MaxValue);
        RabbitMqReceiver receiver = new(this, options.Destination, options.ConsumerGroup, options.ConsumerName, options.TimeProvider);
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
}
