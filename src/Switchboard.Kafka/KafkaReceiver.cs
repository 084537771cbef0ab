using System.Threading.Channels;
using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>
/// One member of a consumer group on one destination's topic. A poll thread of its own consumes (so the member keeps its
/// place in the group however long the handlers take), tracks every record it read per partition, and hands records to
/// the bus: a record whose key has an earlier record still unsettled waits behind it (per key, not per partition). As
/// records are settled, the contiguous handled watermark of each partition is stored and librdkafka commits it in the
/// background; on revoke the in-flight records are given <see cref="KafkaTransportOptions.RevokeTimeout"/> to finish and
/// the watermark is committed before the partition goes.
/// </summary>
internal sealed partial class KafkaReceiver : ITransportReceiver
{
    private readonly KafkaTransport _transport;
    private readonly ReceiverOptions _options;
    private readonly string _topic;
    private readonly Channel<KafkaReceived> _ready = Channel.CreateUnbounded<KafkaReceived>(new UnboundedChannelOptions { SingleReader = true });
    // Guards the partition states; Monitor.PulseAll on it wakes a revoke waiting for in-flight records.
    private readonly object _gate = new();
    private readonly Dictionary<int, PartitionState> _partitions = [];
    private readonly TaskCompletionSource _firstAssignment = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private volatile bool _resumeWanted;
    private volatile bool _storeWanted;
    private int _disposed;

    public KafkaReceiver(KafkaTransport transport, ReceiverOptions options, string topic)
    {
        _transport = transport;
        _options = options;
        _topic = topic;
        Group = options.ConsumerGroup;
        DeadLetterTopic = KafkaWire.DeadLetterTopic(transport.Options.TopicPrefix, options.Destination, options.ConsumerGroup);
    }

    public string Group { get; }

    public string DeadLetterTopic { get; }

    private KafkaTransportOptions Options => _transport.Options;

    /// <summary>Joins the group and waits (a bounded time) for the first assignment, so that a caller's next send finds the member in place.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(_transport.ConsumerConfig(Group, _options.ConsumerName, receiver: true))
            .SetErrorHandler((_, error) => _transport.Health.OnError(error))
            .SetLogHandler(static (_, _) => { })
            .SetPartitionsAssignedHandler((consumer, partitions) => OnAssigned(consumer, partitions))
            .SetPartitionsRevokedHandler((consumer, partitions) => OnRevoked(consumer, partitions))
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions))
            .Build();
        Thread poller = new(Poll) { IsBackground = true, Name = $"switchboard-kafka-{_options.ConsumerName}" };
        poller.Start();
        // An empty assignment also counts (more members than partitions); after the bound the member keeps joining.
        TimeSpan bound = Options.SessionTimeout < TimeSpan.FromSeconds(30) ? Options.SessionTimeout : TimeSpan.FromSeconds(30);
        try
        {
            await _firstAssignment.Task.WaitAsync(bound, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Still joining (the broker may be down): records arrive when it has joined.
        }
    }

    public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (true)
        {
            KafkaReceived received = await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (received.State.Revoking)
                {
                    // Its partition is leaving: not handed out, not settled; the new owner reads it again.
                    continue;
                }

                received.State.InFlight++;
                received.Handed = true;
            }

            return received;
        }
    }

    /// <summary>The topic this member reads.</summary>
    internal string Topic => _topic;

    /// <summary>How many partitions this member of its group owns now (revoked ones not counted).</summary>
    internal int AssignedPartitions
    {
        get
        {
            lock (_gate)
            {
                return _partitions.Values.Count(p => !p.Revoking);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _transport.Forget(this);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _ready.Writer.TryComplete();
        if (_consumer is not null)
        {
            // The poll thread commits the watermarks and leaves the group.
            await _stopped.Task.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>The record was handled (or dead-lettered): the watermark may move, and the next record of its key is released.</summary>
    internal void Settle(KafkaReceived received)
    {
        lock (_gate)
        {
            if (received.Tracked.Settled)
            {
                throw new InvalidOperationException("The message was already settled.");
            }

            received.Tracked.Settled = true;
            Unhand(received);
            PartitionState state = received.State;
            if (state.Revoked)
            {
                return; // the partition has gone; its new owner reads the record again (at-least-once)
            }

            ReleaseNextOfKey(state, received.Message.PartitionKey);
            Advance(state);
        }
    }

    /// <summary>Keeps the record (uncommitted, its key held back) and hands it out again after the delay.</summary>
    internal ValueTask RetryAsync(KafkaReceived received, TimeSpan delay)
    {
        lock (_gate)
        {
            if (received.Tracked.Settled)
            {
                throw new InvalidOperationException("The message was already settled.");
            }

            Unhand(received);
        }

        _ = RedeliverLaterAsync(received, received.DeliveryCount + 1, delay);
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes the record to the group's dead-letter topic (confirmed), then settles it; if the write fails the record is tried again later.</summary>
    internal async ValueTask DeadLetterAsync(KafkaReceived received, DeadLetterReason reason, CancellationToken cancellationToken)
    {
        if (Options.DeadLetterEnabled)
        {
            try
            {
                Headers headers = _transport.HeaderWriter.ToHeaders(received.Message.Headers, received.Message.PartitionKey);
                headers.Add(KafkaWire.DeadLetterReason, Utf8(reason.Reason));
                headers.Add(KafkaWire.DeadLetterExceptionType, Utf8(reason.ExceptionType ?? string.Empty));
                headers.Add(KafkaWire.DeadLetterExceptionDetails, Utf8(reason.ExceptionDetails ?? string.Empty));
                headers.Add(KafkaWire.DeadLetterAttempts, Utf8(KafkaWire.Format(reason.Attempts)));
                headers.Add(KafkaWire.DeadLetterGroup, Utf8(Group));
                headers.Add(KafkaWire.DeadLetterAt, Utf8(KafkaWire.Format(_options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds())));
                headers.Add(KafkaWire.DeadLetterSource, Utf8($"{received.State.Partition.Partition.Value}-{received.Tracked.Offset}"));
                await _transport.ProduceAsync(DeadLetterTopic, KafkaWire.Key(received.Message.PartitionKey), received.Message.Body.ToArray(), headers, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Not stored: keep the record and try it again, so that it is never dropped (nor does its key stall).
                lock (_gate)
                {
                    Unhand(received);
                }

                _ = RedeliverLaterAsync(received, received.DeliveryCount, TimeSpan.FromSeconds(1));
                throw;
            }
        }

        Settle(received);
    }

    private static byte[] Utf8(string value) => System.Text.Encoding.UTF8.GetBytes(value);

    private async Task RedeliverLaterAsync(KafkaReceived received, int deliveryCount, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _options.TimeProvider, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // stopping: left uncommitted, delivered again to whoever owns the partition next
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        lock (_gate)
        {
            if (received.State.Revoking || received.Tracked.Settled)
            {
                return;
            }

            _ready.Writer.TryWrite(new KafkaReceived(this, received.State, received.Tracked, received.Message, deliveryCount));
        }
    }

    /// <summary>A record handed to the bus is no longer in flight (settled, or waiting for a retry); a revoke may be waiting for that.</summary>
    private void Unhand(KafkaReceived received)
    {
        if (received.Handed)
        {
            received.Handed = false;
            received.State.InFlight--;
            Monitor.PulseAll(_gate);
        }
    }

    private void ReleaseNextOfKey(PartitionState state, string? key)
    {
        if (key is null || !state.Keys.TryGetValue(key, out Queue<KafkaReceived>? waiting))
        {
            return;
        }

        if (waiting is not null && waiting.TryDequeue(out KafkaReceived? next))
        {
            _ready.Writer.TryWrite(next);
        }
        else
        {
            state.Keys.Remove(key);
        }
    }

    /// <summary>Moves the partition's watermark over the settled records at its head and stores it for the background commit.</summary>
    private void Advance(PartitionState state)
    {
        long? watermark = null;
        while (state.Unsettled.TryPeek(out Tracked? head) && head.Settled)
        {
            state.Unsettled.Dequeue();
            watermark = head.Offset + 1;
        }

        if (watermark is not { } next)
        {
            return;
        }

        state.Watermark = next;
        if (state.Paused && state.Unsettled.Count < Options.MaxInFlightPerPartition)
        {
            _resumeWanted = true;
        }

        // The poll thread stores the watermarks (StoreWatermarks: off the handlers' threads, one call for the partitions that
        // moved, at most every StoreInterval), and may be waiting for room in this partition (WaitForRoom).
        _storeWanted = true;
        Monitor.PulseAll(_gate);
    }
}
