using System.Collections.Concurrent;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// A batch the server answers entry by entry: one refused entry fails its own send only, named, and the others in the same
/// <c>SendMessageBatch</c> are delivered, each once.
/// </summary>
public sealed class SqsBatchFailureTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => SqsServer.DeleteQueuesAsync(_prefix);

    [Fact]
    public async Task SendBatch_WithOneEntryTheServerRefuses_FailsThatSendByName_AndTheOthersArriveOnce()
    {
        using AmazonSQSClient client = SqsServer.Client();
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.MaxBatchesInFlight = 1; // one batch call at a time: what waits behind it goes out together
        await using SqsTransport transport = new(client, options);
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("partial", "billing", "c1"), CancellationToken.None);

        // The transport read the queue's 1 MiB limit when it opened it; lowered now behind its back, a 2 KB message passes the
        // transport's own check and only SQS refuses it, as one entry of a batch (SenderFault, the others stored).
        string url = (await client.GetQueueUrlAsync(_prefix + "partial--billing")).QueueUrl;
        await client.SetQueueAttributesAsync(url, new Dictionary<string, string> { ["MaximumMessageSize"] = "1024" });

        using ManualResetEventSlim release = new(false);
        TaskCompletionSource firstHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ConcurrentQueue<(int Entries, SendMessageBatchResponse Response)> batches = new();
        int held = 0;
        client.BeforeRequestEvent += (_, e) =>
        {
            // The first batch call is held until the others are queued behind it, so that they share the next one.
            if (e is WebServiceRequestEventArgs { Request: SendMessageBatchRequest } && Interlocked.Exchange(ref held, 1) == 0)
            {
                firstHeld.TrySetResult();
                release.Wait(Patience);
            }
        };
        client.AfterResponseEvent += (_, e) =>
        {
            if (e is WebServiceResponseEventArgs { Request: SendMessageBatchRequest request, Response: SendMessageBatchResponse response })
            {
                batches.Enqueue((request.Entries.Count, response));
            }
        };

        Task first = transport.SendAsync(Message("m-0", 20), CancellationToken.None).AsTask();
        await firstHeld.Task.WaitAsync(Patience);
        string[] ids = ["m-1", "m-2", "m-3", "m-4", "m-5"];
        Task[] sends = [.. ids.Select(id => transport.SendAsync(Message(id, id == "m-3" ? 2000 : 20), CancellationToken.None).AsTask())];
        release.Set();

        await first;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == "m-3")
            {
                InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => sends[i]);
                Assert.Contains("'test.partial' (m-3)", refused.Message);
                Assert.Contains(_prefix + "partial--billing", refused.Message);
                Assert.Contains("the request's fault", refused.Message);
            }
            else
            {
                await sends[i];
            }
        }

        // Two batch calls: the held one, then the five together, answered four stored and one refused.
        Assert.Equal(2, batches.Count);
        (int entries, SendMessageBatchResponse shared) = batches.Last();
        Assert.Equal(5, entries);
        Assert.Equal(4, shared.Successful.Count);
        BatchResultErrorEntry failed = Assert.Single(shared.Failed);
        Assert.True(failed.SenderFault);

        // Every stored message arrives once; the refused one never does; nothing is left behind.
        List<string> received = [];
        using CancellationTokenSource timeout = new(Patience);
        while (received.Distinct().Count() < 5)
        {
            ReceivedMessage message = await receiver.ReceiveAsync(timeout.Token);
            received.Add(message.Message.MessageId);
            Assert.Equal(1, message.DeliveryCount);
            await message.AckAsync(timeout.Token);
        }

        Assert.Equal(["m-0", "m-1", "m-2", "m-4", "m-5"], received.Order(StringComparer.Ordinal));
        SqsQueueInfo info = await transport.GetQueueInfoAsync("partial", "billing");
        Assert.Equal(new SqsQueueInfo(0, 0, 0, 0), info);
    }

    private static TransportMessage Message(string id, int bodyBytes) => new()
    {
        Destination = "partial",
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = id, [MessageHeaders.MessageType] = "test.partial" },
        Body = Encoding.UTF8.GetBytes(new string('x', bodyBytes)),
    };
}
