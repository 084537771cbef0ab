using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>
/// One consumer of one group. It reads the destination's stream and the group's own replay stream in one
/// <c>XREADGROUP</c>, reclaims entries idle longer than the claim time from consumers that died, and, because
/// StackExchange.Redis cannot block on its shared connection, waits between empty reads for a sender's notification or
/// <see cref="RedisTransportOptions.BlockTime"/>, whichever comes first.
/// </summary>
internal sealed class RedisReceiver : ITransportReceiver
{
    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _db;
    private readonly RedisTransportOptions _options;
    private readonly string _destination;
    private readonly RedisKey[] _streams;
    private readonly RedisValue[] _claimCursors;
    private readonly Queue<RedisReceived> _buffer = new();
    private readonly ConcurrentQueue<RedisReceived> _retried = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly RedisChannel _notify;
    private readonly TimeProvider _time;
    private long _lastClaim;
    private int _disposed;

    public RedisReceiver(RedisTransport transport, IConnectionMultiplexer connection, string destination, string group, string consumer, TimeProvider time)
    {
        _time = time;
        _connection = connection;
        _db = connection.GetDatabase();
        _options = transport.Options;
        _destination = destination;
        Group = group;
        Consumer = consumer;
        _streams = [RedisKeys.Stream(_options.StreamPrefix, destination), RedisKeys.GroupStream(_options.StreamPrefix, destination, group)];
        _claimCursors = [StreamPosition.Beginning, StreamPosition.Beginning];
        _notify = RedisKeys.Notify(_options.StreamPrefix, destination);
    }

    public string Group { get; }

    public string Consumer { get; }

    public RedisKey DeadLetterStream => RedisKeys.DeadLetters(_options.StreamPrefix, _destination, Group);

    public async Task StartAsync()
    {
        await EnsureGroupsAsync().ConfigureAwait(false);
        await _connection.GetSubscriber().SubscribeAsync(_notify, (_, _) => Wake()).ConfigureAwait(false);
    }

    public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (true)
        {
            if (_retried.TryDequeue(out RedisReceived? retried))
            {
                return retried;
            }

            if (_buffer.TryDequeue(out RedisReceived? next))
            {
                return next;
            }

            if (!await FetchAsync(cancellationToken).ConfigureAwait(false) && _retried.IsEmpty)
            {
                await _wake.WaitAsync(_options.BlockTime, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Acknowledges an entry.</summary>
    public Task AckAsync(RedisReceived received) => _db.StreamAcknowledgeAsync(received.Stream, Group, received.Entry.Id);

    /// <summary>
    /// Keeps the entry pending and, after the delay, claims it again for this consumer: Redis counts the delivery, and only
    /// this group sees it again. When this consumer is gone by then, the entry stays pending and another one reclaims it.
    /// </summary>
    public void ScheduleRetry(RedisReceived received, TimeSpan delay)
    {
        _ = RetryLaterAsync(received, delay);
    }

    public async Task DeadLetterAsync(RedisReceived received, DeadLetterReason reason)
    {
        if (!_options.DeadLetterEnabled)
        {
            await AckAsync(received).ConfigureAwait(false);
            return;
        }

        // The original entry's fields with the core dead-letter headers (h:sb-dlq-*) added.
        TransportMessage original = received.Message;
        NameValueEntry[] fields = RedisKeys.ToFields(new TransportMessage
        {
            Destination = original.Destination,
            Headers = DeadLetterHeaders.Add(original.Headers, reason, _time.GetUtcNow(), Group),
            Body = original.Body,
            PartitionKey = original.PartitionKey,
        });

        // One transaction: the dead letter exists exactly when the entry is acknowledged.
        ITransaction transaction = _db.CreateTransaction();
        Task<RedisValue> added = transaction.StreamAddAsync(DeadLetterStream, fields);
        Task<long> acked = transaction.StreamAcknowledgeAsync(received.Stream, Group, received.Entry.Id);
        if (!await transaction.ExecuteAsync().ConfigureAwait(false))
        {
            throw new RedisException($"Dead-lettering message {received.Message.MessageId} on '{_destination}' was not committed.");
        }

        await Task.WhenAll(added, acked).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _connection.GetSubscriber().UnsubscribeAsync(_notify).ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // The connection is gone; so is the subscription.
        }

        // What this consumer read and did not settle stays pending: another consumer reclaims it after the claim time.
        _buffer.Clear();
        _retried.Clear();
        _disposing.Dispose();
    }

    private async Task RetryLaterAsync(RedisReceived received, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _disposing.Token).ConfigureAwait(false);
            // Claim only when idle at least as long as the delay: if another consumer reclaimed it meanwhile, it is theirs.
            long minIdle = Math.Max(0, (long)delay.TotalMilliseconds - 10);
            StreamEntry[] claimed = await _db.StreamClaimAsync(received.Stream, Group, Consumer, minIdle, [received.Entry.Id]).ConfigureAwait(false);
            if (claimed.Length == 1 && !claimed[0].IsNull && Volatile.Read(ref _disposed) == 0)
            {
                _retried.Enqueue(new RedisReceived(this, received.Stream, claimed[0], received.Message, received.DeliveryCount + 1));
                Wake();
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: the entry stays pending for another consumer to reclaim.
        }
        catch (ObjectDisposedException)
        {
        }
        catch (RedisException)
        {
            // Redis is unreachable: the entry stays pending and is reclaimed later.
        }
    }

    private async Task<bool> FetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            bool any = false;
            if (_options.ClaimEnabled && ClaimDue())
            {
                any = await ClaimAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            RedisStream[] streams = await _db.StreamReadGroupAsync(
                [new StreamPosition(_streams[0], StreamPosition.NewMessages), new StreamPosition(_streams[1], StreamPosition.NewMessages)],
                Group,
                Consumer,
                _options.BatchSize).WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (RedisStream stream in streams)
            {
                foreach (StreamEntry entry in stream.Entries)
                {
                    if (!entry.IsNull)
                    {
                        _buffer.Enqueue(new RedisReceived(this, stream.Key, entry, RedisKeys.ToMessage(_destination, entry.Values), 1));
                        any = true;
                    }
                }
            }

            return any;
        }
        catch (RedisServerException ex) when (RedisKeys.IsNoGroup(ex))
        {
            // Redis restarted without its data, or someone deleted the stream: create the group again and go on.
            await EnsureGroupsAsync().ConfigureAwait(false);
            return true;
        }
    }

    private bool ClaimDue()
    {
        long last = Volatile.Read(ref _lastClaim);
        TimeSpan interval = TimeSpan.FromMilliseconds(Math.Max(50, _options.ClaimMinIdleTime.TotalMilliseconds / 4));
        if (last != 0 && _time.GetElapsedTime(last) < interval)
        {
            return false;
        }

        Volatile.Write(ref _lastClaim, _time.GetTimestamp());
        return true;
    }

    private async Task<bool> ClaimAsync()
    {
        bool any = false;
        long minIdle = (long)_options.ClaimMinIdleTime.TotalMilliseconds;
        for (int s = 0; s < _streams.Length; s++)
        {
            StreamAutoClaimResult result = await _db.StreamAutoClaimAsync(_streams[s], Group, Consumer, minIdle, _claimCursors[s], _options.BatchSize).ConfigureAwait(false);
            _claimCursors[s] = result.NextStartId;
            foreach (StreamEntry entry in result.ClaimedEntries)
            {
                if (entry.IsNull)
                {
                    continue;
                }

                // XAUTOCLAIM counted the delivery; read the count so that a message that crashes every consumer is dead-lettered in the end.
                StreamPendingMessageInfo[] info = await _db.StreamPendingMessagesAsync(_streams[s], Group, 1, Consumer, entry.Id, entry.Id).ConfigureAwait(false);
                int count = info.Length == 1 ? info[0].DeliveryCount : 2;
                _buffer.Enqueue(new RedisReceived(this, _streams[s], entry, RedisKeys.ToMessage(_destination, entry.Values), count));
                any = true;
            }
        }

        return any;
    }

    private async Task EnsureGroupsAsync()
    {
        foreach (RedisKey stream in _streams)
        {
            try
            {
                // From 0, not $: messages sent before this group existed are delivered too.
                await _db.StreamCreateConsumerGroupAsync(stream, Group, StreamPosition.Beginning, createStream: true).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                // Created before, by this or another consumer.
            }
        }
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}

/// <summary>A stream entry handed to the bus, settled through its receiver.</summary>
internal sealed class RedisReceived(RedisReceiver receiver, RedisKey stream, StreamEntry entry, TransportMessage message, int deliveryCount)
    : ReceivedMessage(message, deliveryCount)
{
    private int _settled;

    public RedisKey Stream => stream;

    public StreamEntry Entry => entry;

    public override async ValueTask AckAsync(CancellationToken cancellationToken)
    {
        if (TrySettle())
        {
            try
            {
                await receiver.AckAsync(this).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Unsettle(); // the bus may try the acknowledgement again
                throw;
            }
        }
    }

    public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (TrySettle())
        {
            receiver.ScheduleRetry(this, delay);
        }

        return default;
    }

    public override async ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (TrySettle())
        {
            try
            {
                await receiver.DeadLetterAsync(this, reason).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Unsettle();
                throw;
            }
        }
    }

    private void Unsettle() => Volatile.Write(ref _settled, 0);

    private bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;
}
