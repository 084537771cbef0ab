using System.Globalization;
using Amazon.SQS.Model;

namespace Switchboard.AmazonSqs;

internal sealed partial class SqsReceiver
{
    private async Task KeepLeasesAsync()
    {
        SqsTransportOptions options = _transport.Options;
        TimeSpan tick = options.VisibilityTimeout / 3;
        CancellationToken life = _life.Token;
        while (!life.IsCancellationRequested)
        {
            await Task.Delay(tick, _time, life).ConfigureAwait(false);
            DateTimeOffset now = _time.GetUtcNow();
            List<SqsReceived> extend = [];
            foreach (SqsReceived received in _leased.Keys)
            {
                TimeSpan held = now - received.ReceivedAt;
                if (held + options.VisibilityTimeout <= options.MaxLeaseDuration)
                {
                    extend.Add(received);
                }
                else if (!received.LimitReached)
                {
                    // The last extension already reaches the limit: say so once, and leave the message to SQS.
                    received.LimitReached = true;
                    SqsLog.LeaseLimitReached(_transport.Logger, received.Message.MessageId, _queue.Name, (long)held.TotalSeconds);
                }
            }

            if (extend.Count > 0)
            {
                await _visibility.WaitAsync(life).ConfigureAwait(false);
                try
                {
                    // Only what is still leased: a retry may have taken a message out meanwhile.
                    extend.RemoveAll(r => !_leased.ContainsKey(r));
                    await ChangeVisibilityAsync(extend, options.VisibilityTimeout).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    SqsLog.LeaseExtensionFailed(_transport.Logger, extend.Count, _queue.Name, ex);
                }
                finally
                {
                    _visibility.Release();
                }
            }
        }
    }

    private async Task SetVisibilityAsync(List<SqsReceived> messages, TimeSpan visibility)
    {
        try
        {
            await ChangeVisibilityAsync(messages, visibility).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SqsLog.ReleaseFailed(_transport.Logger, messages.Count, _queue.Name, ex);
        }
    }

    private async Task ChangeVisibilityAsync(List<SqsReceived> messages, TimeSpan visibility)
    {
        for (int start = 0; start < messages.Count; start += SqsBatcher<string>.MaxEntries)
        {
            List<ChangeMessageVisibilityBatchRequestEntry> entries = [];
            for (int i = start; i < Math.Min(messages.Count, start + SqsBatcher<string>.MaxEntries); i++)
            {
                entries.Add(new ChangeMessageVisibilityBatchRequestEntry
                {
                    Id = i.ToString(CultureInfo.InvariantCulture),
                    ReceiptHandle = messages[i].ReceiptHandle,
                    VisibilityTimeout = (int)visibility.TotalSeconds,
                });
            }

            // Entries that fail are messages already deleted or delivered again elsewhere: nothing left to extend.
            await _transport.CallAsync(c => c.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest { QueueUrl = _queue.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
        }
    }
}
