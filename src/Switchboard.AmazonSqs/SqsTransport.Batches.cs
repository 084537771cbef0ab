using System.Globalization;
using Amazon.SQS.Model;

namespace Switchboard.AmazonSqs;

public sealed partial class SqsTransport
{
    private async Task SendBatchAsync(SqsQueue queue, IReadOnlyList<SqsBatcher<SendEntry>.Pending> batch)
    {
        List<SendMessageBatchRequestEntry> entries = new(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            entries.Add(batch[i].Item.ToEntry(i.ToString(CultureInfo.InvariantCulture)));
        }

        SendMessageBatchResponse response = await CallAsync(c => c.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = queue.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
        foreach (SendMessageBatchResultEntry ok in response.Successful ?? [])
        {
            if (int.TryParse(ok.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetResult();
            }
        }

        foreach (BatchResultErrorEntry failed in response.Failed ?? [])
        {
            if (int.TryParse(failed.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetException(new InvalidOperationException(
                    $"SQS refused message {batch[index].Item.Describe()} for queue '{queue.Name}' ({failed.Code}{(failed.SenderFault == true ? ", the request's fault" : ", the service's fault: send it again")}): {failed.Message}"));
            }
        }
    }

    private async Task DeleteBatchAsync(SqsQueue queue, IReadOnlyList<SqsBatcher<string>.Pending> batch)
    {
        List<DeleteMessageBatchRequestEntry> entries = new(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            entries.Add(new DeleteMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = batch[i].Item });
        }

        DeleteMessageBatchResponse response = await CallAsync(c => c.DeleteMessageBatchAsync(new DeleteMessageBatchRequest { QueueUrl = queue.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
        foreach (DeleteMessageBatchResultEntry ok in response.Successful ?? [])
        {
            if (int.TryParse(ok.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetResult();
            }
        }

        foreach (BatchResultErrorEntry failed in response.Failed ?? [])
        {
            if (int.TryParse(failed.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetException(new InvalidOperationException(
                    $"SQS did not delete a message from queue '{queue.Name}' ({failed.Code}: {failed.Message}); it will be delivered again."));
            }
        }
    }
}
