using System.Globalization;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

/// <summary>
/// One consumer of one group's queue, on its own channel with <c>basic.qos</c> set to the prefetch. Deliveries are copied
/// into an in-memory queue the bus reads from; what is still there, or unsettled, when the receiver is disposed is
/// returned to the broker by closing the channel.
/// </summary>
internal sealed class RabbitMqReceiver : ITransportReceiver
{
    private readonly RabbitMqTransport _transport;
    private readonly string _destination;
    private readonly string _consumerName;
    private readonly Channel<RabbitMqReceived> _deliveries = Channel.CreateUnbounded<RabbitMqReceived>(new UnboundedChannelOptions { SingleReader = true });
    // Acknowledgements come from several workers; one channel's frames are written one at a time.
    private readonly SemaphoreSlim _settleLock = new(1, 1);
    private readonly TimeProvider _time;
    private IChannel? _channel;
    private int _disposed;

    public RabbitMqReceiver(RabbitMqTransport transport, string destination, string group, string consumerName, TimeProvider time)
    {
        _time = time;
        _transport = transport;
        _destination = destination;
        Group = group;
        _consumerName = consumerName;
        Queue = RabbitMqWire.Queue(destination, group);
        DelayQueue = RabbitMqWire.DelayQueue(destination, group);
        DeadLetterQueue = RabbitMqWire.DeadLetterQueue(destination, group);
    }

    public string Group { get; }

    public string Queue { get; }

    public string DelayQueue { get; }

    public string DeadLetterQueue { get; }

    public async Task StartAsync(IConnection connection, ushort prefetch, CancellationToken cancellationToken)
    {
        IChannel channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.BasicQosAsync(0, prefetch, global: false, cancellationToken).ConfigureAwait(false);
            AsyncEventingBasicConsumer consumer = new(channel);
            consumer.ReceivedAsync += OnReceivedAsync;
            await channel.BasicConsumeAsync(Queue, autoAck: false, consumerTag: $"{_consumerName}-{Guid.NewGuid():N}", consumer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
            throw;
        }

        _channel = channel;
    }

    public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return await _deliveries.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _deliveries.Writer.TryComplete();
        if (_channel is { } channel)
        {
            // Closing the channel returns every unacknowledged delivery to the queue, for another consumer.
            await _settleLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
            }
            finally
            {
                _settleLock.Release();
            }
        }
    }

    internal async Task AckAsync(ulong deliveryTag, CancellationToken cancellationToken)
    {
        IChannel channel = _channel ?? throw new InvalidOperationException("The receiver has not started.");
        await _settleLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            await channel.BasicAckAsync(deliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _settleLock.Release();
        }
    }

    /// <summary>Publishes a confirmed copy to the delay queue (or straight back to the queue), then acknowledges the original.</summary>
    internal async Task RetryAsync(RabbitMqReceived received, TimeSpan delay, CancellationToken cancellationToken)
    {
        BasicProperties properties = RabbitMqWire.Copy(received.Properties);
        properties.Headers![RabbitMqWire.Attempts] = (long)received.DeliveryCount;
        long milliseconds = (long)Math.Ceiling(Math.Max(0, delay.TotalMilliseconds));
        string target = Queue;
        if (milliseconds > 0)
        {
            properties.Expiration = milliseconds.ToString(CultureInfo.InvariantCulture);
            target = DelayQueue;
        }

        await _transport.PublishAsync(string.Empty, target, properties, received.Message.Body, received.Message.MessageId, cancellationToken).ConfigureAwait(false);
        await AckAsync(received.DeliveryTag, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes a confirmed copy with the reason to the dead-letter queue, then acknowledges the original.</summary>
    internal async Task DeadLetterAsync(RabbitMqReceived received, DeadLetterReason reason, CancellationToken cancellationToken)
    {
        if (_transport.Options.DeadLetterEnabled)
        {
            BasicProperties properties = RabbitMqWire.Copy(received.Properties);
            IDictionary<string, object?> headers = properties.Headers!;
            headers.Remove(RabbitMqWire.Attempts);
            // The core dead-letter headers (sb-dlq-*), the same on every transport.
            foreach (KeyValuePair<string, string> header in DeadLetterHeaders.Add(EmptyHeaders, reason, _time.GetUtcNow(), Group))
            {
                headers[header.Key] = header.Value;
            }

            headers[RabbitMqWire.Destination] = _destination;
            // The dead-letter entry's own id, for replay and delete; the message's id stays in its headers.
            properties.MessageId = Guid.NewGuid().ToString("N");
            await _transport.PublishAsync(string.Empty, DeadLetterQueue, properties, received.Message.Body, received.Message.MessageId, cancellationToken).ConfigureAwait(false);
        }

        await AckAsync(received.DeliveryTag, cancellationToken).ConfigureAwait(false);
    }

    private static readonly Dictionary<string, string> EmptyHeaders = new(StringComparer.Ordinal);

    private Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        // The body belongs to the client's buffer only for the duration of this call.
        byte[] body = delivery.Body.ToArray();
        BasicProperties properties = new(delivery.BasicProperties);
        TransportMessage message = RabbitMqWire.ToMessage(_destination, properties, body);
        long previous = RabbitMqWire.GetLong(properties, RabbitMqWire.Attempts) ?? 0;
        // Quorum queues count returned deliveries themselves; classic queues only say "redelivered".
        long redeliveries = RabbitMqWire.GetLong(properties, "x-delivery-count") ?? (delivery.Redelivered ? 1 : 0);
        int deliveryCount = (int)Math.Min(int.MaxValue, previous + 1 + redeliveries);
        if (!_deliveries.Writer.TryWrite(new RabbitMqReceived(this, message, deliveryCount, delivery.DeliveryTag, properties)))
        {
            // Disposed: the channel is closing and the broker takes the delivery back.
            return Task.CompletedTask;
        }

        return Task.CompletedTask;
    }
}

/// <summary>A delivery not yet settled.</summary>
internal sealed class RabbitMqReceived(RabbitMqReceiver receiver, TransportMessage message, int deliveryCount, ulong deliveryTag, BasicProperties properties)
    : ReceivedMessage(message, deliveryCount)
{
    public ulong DeliveryTag { get; } = deliveryTag;

    public BasicProperties Properties { get; } = properties;

    public override ValueTask AckAsync(CancellationToken cancellationToken) => new(receiver.AckAsync(DeliveryTag, cancellationToken));

    public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => new(receiver.RetryAsync(this, delay, cancellationToken));

    public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new(receiver.DeadLetterAsync(this, reason, cancellationToken));
    }
}
