using System.Diagnostics;
using System.Threading.Channels;
using Switchboard.Bus;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Responses;

namespace Switchboard.Transport;

/// <summary>
/// The worker loop every transport shares: receive → read the envelope through the allow-list → handle → acknowledge;
/// on failure retry with back-off, then dead-letter with the reason; answer the response store when the sender waits.
/// One bad message never stops the loop.
/// </summary>
internal sealed partial class TransportConsumer : IAsyncDisposable
{
    private readonly SwitchboardBus _bus;
    private readonly BusRuntime _runtime;
    private readonly ReceiverOptions _options;
    private readonly CancellationTokenSource _stopReceiving = new();
    private readonly CancellationTokenSource _abortHandlers = new();
    private ITransportReceiver? _receiver;
    private Task _receiving = Task.CompletedTask;
    private Task[] _workers = [];

    public TransportConsumer(SwitchboardBus bus, ReceiverOptions options)
    {
        _bus = bus;
        _runtime = bus.Runtime;
        _options = options;
    }

    public ReceiverOptions Options => _options;

    /// <summary>Gets the last handler failure or unreadable message of this consumer (type and message, credentials removed), for the operations overview.</summary>
    public (string Error, DateTimeOffset At)? LastError { get; private set; }

    private void RecordError(string error) => LastError = (Operations.Redaction.Redact(error), _runtime.Time.GetUtcNow());

    /// <summary>
    /// Starts one receive loop and <see cref="BusOptions.ConsumerConcurrency"/> workers. The loop hands each message to a
    /// worker chosen by its partition key, so that messages with the same key are handled one at a time, in the order
    /// received; messages without a key are spread over the workers. A worker does not wait for an acknowledgement to
    /// reach the broker before it takes its next message (up to <see cref="AcknowledgementsInFlightPerWorker"/> on their
    /// way); it waits for them before it stops.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _receiver = await _runtime.Transport.CreateReceiverAsync(_options, cancellationToken).ConfigureAwait(false);
        Channel<ReceivedMessage>[] lanes = new Channel<ReceivedMessage>[_runtime.Options.ConsumerConcurrency];
        Task[] workers = new Task[lanes.Length];
        for (int i = 0; i < lanes.Length; i++)
        {
            Channel<ReceivedMessage> lane = Channel.CreateBounded<ReceivedMessage>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
            lanes[i] = lane;
            workers[i] = Task.Run(() => WorkAsync(lane.Reader), CancellationToken.None);
        }

        _workers = workers;
        ITransportReceiver receiver = _receiver;
        _receiving = Task.Run(() => ReceiveAsync(receiver, lanes), CancellationToken.None);
        Log.ConsumerStarted(_runtime.Logger, _options.ConsumerName, _options.Destination, _options.ConsumerGroup);
    }

    /// <summary>
    /// Stops receiving, lets in-flight messages finish until <paramref name="cancellationToken"/> fires, then aborts them
    /// unsettled without waiting any longer: a handler that ignores the abort is left running, and the bus reports it as
    /// in flight instead of overrunning its shutdown timeout.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopReceiving.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll([_receiving, .. _workers]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of time: abort the handlers; what they held is not acknowledged and will be delivered again.
            await _abortHandlers.CancelAsync().ConfigureAwait(false);
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        _stopReceiving.Dispose();
        _abortHandlers.Dispose();
    }

    private async Task ReceiveAsync(ITransportReceiver receiver, Channel<ReceivedMessage>[] lanes)
    {
        CancellationToken stopping = _stopReceiving.Token;
        int failures = 0;
        uint next = 0;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                ReceivedMessage received;
                try
                {
                    received = await receiver.ReceiveAsync(stopping).ConfigureAwait(false);
                    failures = 0;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is ObjectDisposedException or ChannelClosedException)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // The broker is unreachable or the receiver broke: back off and try again, never give up the loop.
                    TimeSpan delay = Backoff.Outage(failures++);
                    Log.ConsumerFaulted(_runtime.Logger, _options.ConsumerName, _options.Destination, (long)delay.TotalMilliseconds, ex);
                    try
                    {
                        await Task.Delay(delay, _runtime.Time, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                string? key = received.Message.PartitionKey;
                uint lane = key is null ? next++ : (uint)StringComparer.Ordinal.GetHashCode(key);

                // Not the stopping token: a received message is always handed over, so that it is handled or, at worst,
                // left unsettled for redelivery; never dropped between the receiver and a worker.
                await lanes[lane % (uint)lanes.Length].Writer.WriteAsync(received, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (Channel<ReceivedMessage> lane in lanes)
            {
                lane.Writer.TryComplete();
            }
        }
    }

    private async Task WorkAsync(ChannelReader<ReceivedMessage> lane)
    {
        // The acknowledgements of this worker still on their way to the broker: it handles its next message meanwhile.
        List<Task> acknowledging = [];
        await foreach (ReceivedMessage received in lane.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                Task? acknowledgement = await ProcessAsync(received).ConfigureAwait(false);
                if (acknowledgement is not null)
                {
                    await TrackAcknowledgementAsync(acknowledging, acknowledgement).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                // ProcessAsync settles every failure itself; this is the last line that keeps the worker alive.
                Log.ConsumerFaulted(_runtime.Logger, _options.ConsumerName, _options.Destination, 0, ex);
            }
        }

        // Stopping: the worker ends when its acknowledgements have (the shutdown's abort cuts their retries short).
        await Task.WhenAll(acknowledging).ConfigureAwait(false);
    }

    /// <summary>
    /// Handles one message and settles it. Returns the acknowledgement when it is still on its way to the broker (the
    /// caller tracks it and goes on), or null when the message is settled.
    /// </summary>
    private async Task<Task?> ProcessAsync(ReceivedMessage received)
    {
        CancellationToken aborting = _abortHandlers.Token;
        TransportMessage message = received.Message;
        _runtime.TransportCounters.Received();
        if (SwitchboardDiagnostics.ConsumedMessages.Enabled)
        {
            SwitchboardDiagnostics.ConsumedMessages.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name));
        }

        if (!_runtime.Codec.TryDecode(message, received.DeliveryCount, out EnvelopeCodec.Decoded decoded, out string? failure))
        {
            // A sender that waits hears why now, instead of at its timeout.
            RecordError(failure!);
            await DeadLetterAsync(received, new DeadLetterReason(failure!, null, null, received.DeliveryCount), message.GetHeader(MessageHeaders.ReplyTo), aborting).ConfigureAwait(false);
            return null;
        }

        using Activity? activity = StartReceiveActivity(received);
        object? result;
        try
        {
            result = await HandleAsync(decoded, message.MessageId).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborting.IsCancellationRequested)
        {
            // Shutdown ran out of time: leave the message unsettled so that the broker delivers it again.
            return null;
        }
        catch (Exception ex)
        {
            Exception cause = ex is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerExceptions[0] : ex;
            activity?.SetStatus(ActivityStatusCode.Error, cause.Message);
            RecordError($"{cause.GetType().Name}: {cause.Message}");
            await RetryOrDeadLetterAsync(received, decoded.ReplyTo, cause, aborting).ConfigureAwait(false);
            return null;
        }

        if (ReferenceEquals(result, Unsettled))
        {
            return null; // stopping while the inbox's database is down: delivered again later
        }

        // A duplicate (the inbox saw this id committed before) is acknowledged without a second effect, keeping the first answer.
        if (!ReferenceEquals(result, Outbox.TransactionalOutbox.Duplicate) && decoded.ReplyTo is not null)
        {
            await StoreResponseAsync(decoded.ReplyTo, _bus.CreateResponse(result), decoded.ResponseTtl).ConfigureAwait(false);
        }

        // From here on the handlers have succeeded: whatever the acknowledgement does, it is not a handler failure. It is
        // a round trip to the broker, not handler work: the worker need not wait for it before its next message.
        Task acknowledgement = AcknowledgeAsync(received, aborting);
        return acknowledgement.IsCompleted ? null : acknowledgement;
    }

    private static readonly object Unsettled = new();

    /// <summary>
    /// Runs the handlers. While the inbox's database cannot be reached nothing took effect and the message is no more at
    /// fault than any other: it is held here, unacknowledged and without spending an attempt, and tried again with back-off
    /// until the database answers, or left unsettled (to be delivered again) when the consumer stops.
    /// </summary>
    private async Task<object?> HandleAsync(EnvelopeCodec.Decoded decoded, string messageId)
    {
        int failures = 0;
        while (true)
        {
            try
            {
                return await _bus.HandleReceivedAsync(decoded, _abortHandlers.Token).ConfigureAwait(false);
            }
            catch (Outbox.InboxUnavailableException ex)
            {
                TimeSpan delay = Backoff.Outage(failures++);
                Log.InboxUnavailable(_runtime.Logger, _bus.Outbox?.Store.Name ?? "-", messageId, (long)delay.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(delay, _runtime.Time, _stopReceiving.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return Unsettled;
                }
            }
        }
    }

    private async Task StoreResponseAsync(string correlationId, StoredResponse response, TimeSpan? ttl)
    {
        try
        {
            await _runtime.ResponseStore.StoreAsync(correlationId, response, ttl ?? _runtime.Options.ResponseTtl).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ResponseStoreFailed(_runtime.Logger, correlationId, ex);
        }
    }
}
