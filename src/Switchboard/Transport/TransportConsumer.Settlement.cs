using Switchboard.Observability;
using Switchboard.Responses;

namespace Switchboard.Transport;

internal sealed partial class TransportConsumer
{
    /// <summary>How many times an acknowledgement is tried before the message is left to be delivered again.</summary>
    internal const int AcknowledgementTries = 3;

    /// <summary>
    /// How many acknowledgements one worker may have on their way to the broker while it handles its next messages; at
    /// that many it waits for the first to end. Brokers that batch acknowledgements (SQS's <c>DeleteMessageBatch</c>)
    /// fill their batches from them instead of holding every worker for a round trip per message.
    /// </summary>
    internal const int AcknowledgementsInFlightPerWorker = 16;

    /// <summary>Adds an acknowledgement still in flight to the worker's list; waits for one to end when the list is full.</summary>
    private static async Task TrackAcknowledgementAsync(List<Task> acknowledging, Task acknowledgement)
    {
        acknowledging.RemoveAll(static t => t.IsCompleted);
        acknowledging.Add(acknowledgement);
        if (acknowledging.Count >= AcknowledgementsInFlightPerWorker)
        {
            // Yielding: a transport may complete acknowledgements inline on the thread that completes a whole batch of
            // them; the worker's next message must not be handled there, holding up the rest of that batch.
            await Task.WhenAny(acknowledging).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            acknowledging.RemoveAll(static t => t.IsCompleted);
        }
    }

    /// <summary>
    /// Acknowledges a message whose handlers succeeded. When the broker does not take the acknowledgement (the connection
    /// broke), it is tried again a few times with the outage back-off; after that the message is left unacknowledged, to be
    /// delivered again (the inbox makes that delivery a no-op). Never counted as a handler failure, never spends an attempt.
    /// </summary>
    private async Task AcknowledgeAsync(ReceivedMessage received, CancellationToken aborting)
    {
        for (int @try = 1; ; @try++)
        {
            try
            {
                await received.AckAsync(aborting).ConfigureAwait(false);
                _runtime.TransportCounters.Acknowledged();
                return;
            }
            catch (OperationCanceledException) when (aborting.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (@try < AcknowledgementTries)
            {
                TimeSpan delay = Backoff.Outage(@try - 1);
                Log.AcknowledgementRetrying(_runtime.Logger, received.Message.MessageId, received.Message.Destination, @try, AcknowledgementTries, (long)delay.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(delay, _runtime.Time, aborting).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                Log.AcknowledgementFailed(_runtime.Logger, received.Message.MessageId, received.Message.Destination, AcknowledgementTries, ex);
                _runtime.TransportCounters.AcknowledgementFailed();
                if (SwitchboardDiagnostics.AcknowledgementFailures.Enabled)
                {
                    SwitchboardDiagnostics.AcknowledgementFailures.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name));
                }

                return;
            }
        }
    }

    /// <summary>A handler failed: schedule a retry after the back-off, or dead-letter once the attempts are spent.</summary>
    private async Task RetryOrDeadLetterAsync(ReceivedMessage received, string? replyTo, Exception cause, CancellationToken aborting)
    {
        TransportMessage message = received.Message;
        // A rejected message (invalid, say) fails the same way every time: dead-lettered at once, without retries.
        if (received.DeliveryCount >= _runtime.Options.Retry.MaxAttempts || cause is MessageRejectedException)
        {
            await DeadLetterAsync(received, DeadLetterReason.FromException(cause, received.DeliveryCount), replyTo, aborting).ConfigureAwait(false);
            return;
        }

        TimeSpan delay = _runtime.Options.Retry.GetDelay(received.DeliveryCount);
        Log.Retrying(_runtime.Logger, message.MessageId, message.Destination, received.DeliveryCount, (long)delay.TotalMilliseconds, cause);
        try
        {
            await received.RetryAsync(delay, aborting).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Not scheduled, so not counted: the message stays unsettled and the broker delivers it again.
            Log.RetryNotScheduled(_runtime.Logger, message.MessageId, message.Destination, ex);
            return;
        }

        _runtime.TransportCounters.Retried();
        if (SwitchboardDiagnostics.Retried.Enabled)
        {
            SwitchboardDiagnostics.Retried.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name));
        }
    }

    private async Task DeadLetterAsync(ReceivedMessage received, DeadLetterReason reason, string? replyTo, CancellationToken cancellationToken)
    {
        Log.DeadLettered(_runtime.Logger, received.Message.MessageId, received.Message.Destination, reason.Reason);
        if (await SettleSafelyAsync(() => received.DeadLetterAsync(reason, cancellationToken)).ConfigureAwait(false))
        {
            _runtime.TransportCounters.DeadLettered();
            if (SwitchboardDiagnostics.DeadLettered.Enabled)
            {
                SwitchboardDiagnostics.DeadLettered.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name));
            }

            if (replyTo is not null)
            {
                // The sender hears of the failure now instead of waiting for its timeout.
                await StoreResponseAsync(replyTo, StoredResponse.Failure(reason.ExceptionType ?? "DeadLettered", reason.Reason), null).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> SettleSafelyAsync(Func<ValueTask> settle)
    {
        try
        {
            await settle().ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            // The broker did not take the settlement; the message stays unsettled and will be delivered again.
            Log.ConsumerFaulted(_runtime.Logger, _options.ConsumerName, _options.Destination, 0, ex);
            return false;
        }
    }
}
