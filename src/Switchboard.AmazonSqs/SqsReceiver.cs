using System.Collections.Concurrent;
using System.Globalization;
using Amazon.SQS.Model;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// One consumer of one group's queue. A long poll runs in the background of <see cref="ReceiveAsync"/> (never cancelled
/// by it, so no received message is dropped between SQS and the bus); every message received and not yet settled is
/// leased: its visibility is extended every third of the visibility timeout until it is settled, up to the lease limit.
/// On a FIFO queue, a message of a partition key is handed out only after the previous one of that key was settled, and
/// a retry returns the later ones to SQS so that they come back after it, in order.
/// </summary>
internal sealed partial class SqsReceiver : ITransportReceiver
{
    private readonly SqsTransport _transport;
    private readonly TimeProvider _time;
    private readonly string _destination;
    private readonly string _group;
    private readonly bool _fifo;
    private readonly Lock _lock = new();
    private readonly Queue<SqsReceived> _ready = new();
    private readonly Dictionary<string, Queue<SqsReceived>> _withheld = new(StringComparer.Ordinal);
    private readonly HashSet<string> _activeKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SqsReceived, byte> _leased = new();
    private readonly SemaphoreSlim _visibility = new(1, 1);
    private readonly CancellationTokenSource _life = new();
    private readonly Task _leaseLoop;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<List<Message>>? _poll;
    private SqsQueue _queue;
    private int _disposed;

    public SqsReceiver(SqsTransport transport, SqsQueue queue, string destination, string group, TimeProvider time)
    {
        _time = time;
        _transport = transport;
        _queue = queue;
        _destination = destination;
        _group = group;
        _fifo = transport.Options.Fifo;
        transport.AddKnownGroup(destination, queue);
        _leaseLoop = Task.Run(KeepLeasesAsync);
    }

    public SqsQueue Queue => _queue;

    public string Destination => _destination;

    public string Group => _group;

    internal SqsTransport Transport => _transport;

    public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            Task signal;
            lock (_lock)
            {
                if (_ready.TryDequeue(out SqsReceived? ready))
                {
                    if (_poll is null && _ready.Count < _transport.Options.MaxMessagesPerReceive)
                    {
                        // Read ahead: the next long poll runs while the workers handle what is here (leased meanwhile).
                        _poll = PollAsync();
                    }

                    ready.Queue?.HandedOut();
                    return ready;
                }

                if (_signal.Task.IsCompleted)
                {
                    _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                signal = _signal.Task;
            }

            _poll ??= PollAsync();
            await Task.WhenAny(_poll, signal).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_poll.IsCompleted)
            {
                Task<List<Message>> poll = _poll;
                _poll = null;
                Accept(await poll.ConfigureAwait(false)); // a failed poll throws here: the bus backs off and calls again
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _life.CancelAsync().ConfigureAwait(false);
        try
        {
            await _leaseLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_poll is { IsCompletedSuccessfully: true } poll)
        {
            Accept(poll.Result);
        }

        // Whatever was received and not settled goes back to SQS now, for another consumer, instead of after its lease.
        List<SqsReceived> unsettled = [.. _leased.Keys];
        _leased.Clear();
        await SetVisibilityAsync(unsettled, TimeSpan.Zero).ConfigureAwait(false);
        _life.Dispose();
    }

    internal async Task AckAsync(SqsReceived received)
    {
        bool deleted = false;
        try
        {
            Task delete = _queue.Deleter.EnqueueAsync(received.ReceiptHandle);
            // Queued first, then counted as returned: a delete waiting for this one's company goes with it.
            received.Returned();
            await delete.ConfigureAwait(false);
            deleted = true;
        }
        finally
        {
            received.Returned(); // once: already done unless queueing the delete threw
            Settled(received, keyMovesOn: deleted);
        }
    }

    /// <summary>Makes the message visible again after <paramref name="delay"/>: SQS delivers it again, counting the receive.</summary>
    internal async Task RetryAsync(SqsReceived received, TimeSpan delay)
    {
        received.Returned();
        if (await TryRetryAsDelayedCopyAsync(received, delay).ConfigureAwait(false))
        {
            return;
        }

        if (delay > TimeSpan.Zero && delay < TimeSpan.FromSeconds(1))
        {
            // SQS counts visibility in whole seconds: a shorter delay is waited here, the message still leased.
            await Task.Delay(delay, _time, _life.Token).ConfigureAwait(false);
            delay = TimeSpan.Zero;
        }

        // No lease extension may overwrite the retry's visibility: take the message out under the lock the extensions hold.
        await _visibility.WaitAsync().ConfigureAwait(false);
        try
        {
            _leased.TryRemove(received, out _);
        }
        finally
        {
            _visibility.Release();
        }

        TimeSpan held = _time.GetUtcNow() - received.ReceivedAt;
        TimeSpan longest = SqsTransportOptions.MaxVisibility - held - TimeSpan.FromSeconds(1);
        TimeSpan visibility = delay < longest ? delay : (longest > TimeSpan.Zero ? longest : TimeSpan.Zero);
        try
        {
            await _transport.CallAsync(c => c.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest
            {
                QueueUrl = _queue.Url,
                ReceiptHandle = received.ReceiptHandle,
                VisibilityTimeout = (int)Math.Ceiling(visibility.TotalSeconds),
            }, CancellationToken.None)).ConfigureAwait(false);
        }
        finally
        {
            // Later messages of its key come back after it (SQS keeps a FIFO group blocked while it is invisible).
            Settled(received, keyMovesOn: false);
        }
    }

    /// <summary>Copies the message with the reason to the group's dead-letter queue, then deletes the original.</summary>
    internal async Task DeadLetterAsync(SqsReceived received, DeadLetterReason reason)
    {
        received.Returned();
        bool deleted = false;
        try
        {
            if (_transport.Options.DeadLetterEnabled)
            {
                SqsQueue dlq = await _transport.GetDeadLetterQueueAsync(_destination, _group, CancellationToken.None).ConfigureAwait(false);
                Dictionary<string, string> headers = SqsWire.DeadLetterHeaders(reason, _destination, _group, _time.GetUtcNow());
                SqsWire.Encoded encoded = SqsWire.Encode(received.Message, headers);
                // A dead-letter entry's own dedup id: a message replayed and failed again must not be taken for a duplicate.
                string entryId = Guid.NewGuid().ToString("N");
                await dlq.Sender.EnqueueAsync(new SendEntry(encoded, received.Message.MessageId, _fifo ? received.Message.PartitionKey ?? entryId : null, _fifo ? entryId : null)).ConfigureAwait(false);
            }

            // Yielding: the delete completes on its batch's thread, and the bus's worker, which awaits this, must not go on there.
            await _queue.Deleter.EnqueueAsync(received.ReceiptHandle).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            deleted = true;
        }
        finally
        {
            Settled(received, keyMovesOn: deleted);
        }
    }

    private async Task<List<Message>> PollAsync()
    {
        SqsTransportOptions options = _transport.Options;
        CancellationToken life = _life.Token;
        try
        {
            ReceiveMessageResponse response = await _transport.CallAsync(c => c.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = _queue.Url,
                MaxNumberOfMessages = options.MaxMessagesPerReceive,
                WaitTimeSeconds = (int)options.WaitTime.TotalSeconds,
                VisibilityTimeout = (int)options.VisibilityTimeout.TotalSeconds,
                MessageAttributeNames = ["All"],
                // Only what is read (the delivery count); every attribute asked for is parsed into each message's dictionary.
                MessageSystemAttributeNames = _fifo ? ["ApproximateReceiveCount", "MessageGroupId"] : ["ApproximateReceiveCount"],
            }, life)).ConfigureAwait(false);
            return response.Messages ?? [];
        }
        catch (QueueDoesNotExistException) when (options.CreateTopology)
        {
            // The queue is gone (deleted, or an emulator restarted empty): create it again and go on.
            SqsLog.QueueRecreated(_transport.Logger, _queue.Name);
            _transport.ForgetQueue(_queue.Name);
            if (options.DeadLetterEnabled)
            {
                _transport.ForgetQueue(SqsQueueNames.DeadLetterQueue(options.QueueNamePrefix, _destination, _group, options.Fifo));
            }

            _queue = await _transport.GetGroupQueueAsync(_destination, _group, life).ConfigureAwait(false);
            return [];
        }
    }

    private void Accept(List<Message> messages)
    {
        if (messages.Count == 0)
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (Message message in messages)
            {
                Dictionary<string, string> headers = SqsWire.ReadHeaders(message);
                int earlier = SqsWire.TakeEarlierDeliveries(headers);
                TransportMessage transportMessage = SqsWire.Decode(_destination, message, headers);
                int deliveryCount = message.Attributes is { } attributes && attributes.TryGetValue("ApproximateReceiveCount", out string? text)
                    && int.TryParse(text, CultureInfo.InvariantCulture, out int count) ? earlier + Math.Max(1, count) : earlier + 1;
                SqsReceived received = new(this, transportMessage, deliveryCount, message.ReceiptHandle, now) { SqsMessageId = message.MessageId, Queue = _queue };
                _leased[received] = 0;
                string? key = _fifo ? transportMessage.PartitionKey : null;
                if (key is not null && !_activeKeys.Add(key))
                {
                    if (!_withheld.TryGetValue(key, out Queue<SqsReceived>? waiting))
                    {
                        _withheld[key] = waiting = new Queue<SqsReceived>();
                    }

                    waiting.Enqueue(received);
                    continue;
                }

                _ready.Enqueue(received);
            }
        }
    }

    /// <summary>
    /// Ends a message's lease. On a FIFO queue the next message of its key is handed out when this one is gone
    /// (<paramref name="keyMovesOn"/>); otherwise the later ones go back to SQS, which delivers them after this one.
    /// </summary>
    private void Settled(SqsReceived received, bool keyMovesOn)
    {
        _leased.TryRemove(received, out _);
        string? key = _fifo ? received.Message.PartitionKey : null;
        if (key is null)
        {
            return;
        }

        List<SqsReceived>? giveBack = null;
        lock (_lock)
        {
            if (_withheld.TryGetValue(key, out Queue<SqsReceived>? waiting) && waiting.Count > 0)
            {
                if (keyMovesOn)
                {
                    _ready.Enqueue(waiting.Dequeue());
                    _signal.TrySetResult();
                }
                else
                {
                    giveBack = [.. waiting];
                    waiting.Clear();
                    _activeKeys.Remove(key);
                }

                if (waiting.Count == 0)
                {
                    _withheld.Remove(key);
                }
            }
            else
            {
                _withheld.Remove(key);
                _activeKeys.Remove(key);
            }
        }

        if (giveBack is not null)
        {
            foreach (SqsReceived later in giveBack)
            {
                _leased.TryRemove(later, out _);
            }

            _ = SetVisibilityAsync(giveBack, TimeSpan.Zero);
        }
    }
}
