using System.Globalization;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Retries on a standard queue with a delay SQS can hold itself (<c>DelaySeconds</c>, 1 s to 15 min): a copy of the
/// message goes back to the group's queue, delayed and carrying how often it was delivered, and the original is deleted.
/// While it waits the retry is a delayed message, not one in flight (SQS limits those to 120,000 per queue), and queue
/// info counts it as delayed. FIFO queues take no per-message delay, and longer delays do not fit in <c>DelaySeconds</c>:
/// those keep the message and hide it (<c>ChangeMessageVisibility</c>), as does a retry whose copy SQS did not take.
/// </summary>
internal sealed partial class SqsReceiver
{
    /// <summary>The longest <c>DelaySeconds</c> SQS accepts on a message.</summary>
    internal static readonly TimeSpan MaxMessageDelay = TimeSpan.FromMinutes(15);

    /// <summary>Sends the retry as a delayed copy and deletes the original; <see langword="false"/> when the visibility timeout must do it instead.</summary>
    private async Task<bool> TryRetryAsDelayedCopyAsync(SqsReceived received, TimeSpan delay)
    {
        if (_fifo || delay < TimeSpan.FromSeconds(1) || delay > MaxMessageDelay)
        {
            return false;
        }

        SqsQueue queue = _queue;
        Dictionary<string, string> earlier = new(StringComparer.Ordinal)
        {
            [SqsWire.EarlierDeliveries] = received.DeliveryCount.ToString(CultureInfo.InvariantCulture),
        };
        SqsWire.Encoded encoded = SqsWire.Encode(received.Message, earlier);
        if (encoded.Size > queue.MaxMessageSize)
        {
            return false; // the count's attribute would not fit: keep the message itself
        }

        int seconds = (int)Math.Min(Math.Ceiling(delay.TotalSeconds), MaxMessageDelay.TotalSeconds);
        try
        {
            await queue.Sender.EnqueueAsync(new SendEntry(encoded, received.Message.MessageId, GroupId: null, DeduplicationId: null, seconds)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SqsLog.DelayedRetryNotSent(_transport.Logger, received.Message.MessageId, queue.Name, ex);
            return false;
        }

        try
        {
            // The copy is stored: the original goes. Should the delete fail, the original also comes back after its
            // lease (at least once; the inbox makes the second handling a no-op), never lost.
            // Yielding: the delete completes on its batch's thread, and the bus's worker, which awaits this retry, must not go on there.
            await queue.Deleter.EnqueueAsync(received.ReceiptHandle).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        }
        catch (Exception ex)
        {
            SqsLog.RetriedOriginalNotDeleted(_transport.Logger, received.Message.MessageId, queue.Name, ex);
        }
        finally
        {
            Settled(received, keyMovesOn: true);
        }

        return true;
    }
}
