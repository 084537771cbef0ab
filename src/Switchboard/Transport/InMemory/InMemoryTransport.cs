using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Switchboard.Transport.InMemory;

/// <summary>
/// A transport inside one process: a real queue per consumer group with competing receivers, acknowledgements,
/// delayed retries, redelivery of what a disposed receiver left unsettled, and a dead-letter queue. Nothing survives the
/// process. It is the default transport, so the enqueue → worker → response store path runs in process exactly as it
/// does over a broker.
/// </summary>
/// <remarks>
/// Messages sent to a destination before any consumer group exists are kept and handed to the first group created.
/// </remarks>
public sealed class InMemoryTransport : ITransport
{
    private readonly ConcurrentDictionary<string, Destination> _destinations = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private int _disposed;

    /// <summary>Creates an in-memory transport.</summary>
    /// <param name="timeProvider">The clock for retry delays; the system clock by default.</param>
    public InMemoryTransport(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "inmemory";

    /// <inheritdoc />
    public TransportCapabilities Capabilities => TransportCapabilities.NativeDelay;

    /// <inheritdoc />
    public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        GetDestination(message.Destination).Enqueue(message);
        return default;
    }

    /// <inheritdoc />
    public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Group group = GetDestination(options.Destination).GetGroup(options.ConsumerGroup);
        return new ValueTask<ITransportReceiver>(new Receiver(group, _time));
    }

    /// <inheritdoc />
    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        return GetDestination(destination).GetGroup(consumerGroup).DeadLetters;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (Destination destination in _destinations.Values)
            {
                destination.Close();
            }
        }

        return default;
    }

    private Destination GetDestination(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return _destinations.GetOrAdd(name, static n => new Destination(n));
    }

    private sealed class Destination(string name)
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
        private List<TransportMessage>? _backlog = [];

        public void Enqueue(TransportMessage message)
        {
            lock (_gate)
            {
                if (_backlog is not null)
                {
                    _backlog.Add(message);
                    return;
                }

                foreach (Group group in _groups.Values)
                {
                    group.Enqueue(new Delivery(message, 1));
                }
            }
        }

        public Group GetGroup(string groupName)
        {
            lock (_gate)
            {
                if (!_groups.TryGetValue(groupName, out Group? group))
                {
                    group = new Group(name, groupName);
                    _groups.Add(groupName, group);
                    if (_backlog is not null)
                    {
                        foreach (TransportMessage message in _backlog)
                        {
                            group.Enqueue(new Delivery(message, 1));
                        }

                        _backlog = null;
                    }
                }

                return group;
            }
        }

        public void Close()
        {
            lock (_gate)
            {
                foreach (Group group in _groups.Values)
                {
                    group.Close();
                }
            }
        }
    }

    private sealed record Delivery(TransportMessage Message, int Count);

    private sealed class Group
    {
        private bool _closed;

        public Group(string destination, string name)
        {
            Destination = destination;
            Name = name;
            DeadLetters = new InMemoryDeadLetterQueue(this);
        }

        public string Destination { get; }

        public string Name { get; }

        public Channel<Delivery> Queue { get; } = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

        public InMemoryDeadLetterQueue DeadLetters { get; }

        /// <summary>Gets whether the transport was disposed: nothing is delivered any more.</summary>
        public bool Closed => Volatile.Read(ref _closed);

        public void Enqueue(Delivery delivery) => Queue.Writer.TryWrite(delivery);

        public void Close()
        {
            Volatile.Write(ref _closed, true);
            Queue.Writer.TryComplete();
        }
    }

    private sealed class Receiver(Group group, TimeProvider time) : ITransportReceiver
    {
        private readonly Lock _gate = new();
        private readonly HashSet<Received> _unsettled = [];
        private bool _disposed;

        public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                Delivery delivery = await group.Queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                Received received = new(this, delivery);
                lock (_gate)
                {
                    if (_disposed)
                    {
                        group.Enqueue(delivery);
                        throw new ObjectDisposedException(nameof(ITransportReceiver));
                    }

                    _unsettled.Add(received);
                }

                return received;
            }
        }

        public bool Settle(Received received)
        {
            lock (_gate)
            {
                return _unsettled.Remove(received);
            }
        }

        public void Retry(Delivery delivery, TimeSpan delay)
        {
            Delivery next = delivery with { Count = delivery.Count + 1 };
            if (delay <= TimeSpan.Zero)
            {
                group.Enqueue(next);
                return;
            }

            ITimer? timer = null;
            timer = time.CreateTimer(
                _ =>
                {
                    group.Enqueue(next);
                    timer?.Dispose();
                },
                null,
                delay,
                Timeout.InfiniteTimeSpan);
        }

        public void DeadLetter(Delivery delivery, DeadLetterReason reason)
            => group.DeadLetters.Add(delivery.Message, reason, time.GetUtcNow(), group.Name);

        public ValueTask DisposeAsync()
        {
            Received[] left;
            lock (_gate)
            {
                _disposed = true;
                left = [.. _unsettled];
                _unsettled.Clear();
            }

            // A consumer that goes away without settling: its messages are delivered again, as a broker would.
            foreach (Received received in left)
            {
                group.Enqueue(received.Delivery with { Count = received.Delivery.Count + 1 });
            }

            return default;
        }
    }

    private sealed class Received(Receiver receiver, Delivery delivery) : ReceivedMessage(delivery.Message, delivery.Count)
    {
        public Delivery Delivery => delivery;

        public override ValueTask AckAsync(CancellationToken cancellationToken)
        {
            Settle();
            return default;
        }

        public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
        {
            if (Settle())
            {
                receiver.Retry(delivery, delay);
            }

            return default;
        }

        public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(reason);
            if (Settle())
            {
                receiver.DeadLetter(delivery, reason);
            }

            return default;
        }

        private bool Settle() => receiver.Settle(this);
    }

    private sealed class InMemoryDeadLetterQueue(Group group) : IDeadLetterQueue
    {
        private readonly Lock _gate = new();
        private readonly List<DeadLetterMessage> _entries = [];
        private long _sequence;

        public void Add(TransportMessage message, DeadLetterReason reason, DateTimeOffset at, string consumerGroup)
        {
            lock (_gate)
            {
                _entries.Add(new DeadLetterMessage
                {
                    Id = (++_sequence).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Message = message,
                    Reason = reason,
                    DeadLetteredAt = at,
                    ConsumerGroup = consumerGroup,
                });
            }
        }

        public ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
            lock (_gate)
            {
                return new ValueTask<IReadOnlyList<DeadLetterMessage>>(_entries.Take(count).ToArray());
            }
        }

        public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                return new ValueTask<long>(_entries.Count);
            }
        }

        public ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(id);
            ThrowIfClosed();
            DeadLetterMessage? entry = Take(id);
            if (entry is null)
            {
                return new ValueTask<bool>(false);
            }

            group.Enqueue(new Delivery(entry.Message, 1));
            return new ValueTask<bool>(true);
        }

        public ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
        {
            ThrowIfClosed();
            DeadLetterMessage[] all;
            lock (_gate)
            {
                all = [.. _entries];
                _entries.Clear();
            }

            foreach (DeadLetterMessage entry in all)
            {
                group.Enqueue(new Delivery(entry.Message, 1));
            }

            return new ValueTask<int>(all.Length);
        }

        public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(id);
            return new ValueTask<bool>(Take(id) is not null);
        }

        /// <summary>A replay on a disposed transport would be dropped: refuse it and keep the entry instead.</summary>
        private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(group.Closed, typeof(InMemoryTransport));

        private DeadLetterMessage? Take(string id)
        {
            lock (_gate)
            {
                int index = _entries.FindIndex(e => e.Id == id);
                if (index < 0)
                {
                    return null;
                }

                DeadLetterMessage entry = _entries[index];
                _entries.RemoveAt(index);
                return entry;
            }
        }
    }
}
