using System.Text;
using Switchboard.AmazonSqs;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The receiver tells its queue's deletes what is still coming: every message it hands to the bus counts until the bus
/// settles it (ack, retry or dead-letter), so a partial <c>DeleteMessageBatch</c> waits for the others of the receive
/// and goes when the last one is settled.
/// </summary>
public sealed class SqsDeleteGatherTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => SqsServer.DeleteQueuesAsync(_prefix);

    [Fact]
    public async Task Messages_handed_to_the_bus_count_as_deletes_to_come_until_each_is_settled_once()
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.WaitTime = TimeSpan.FromSeconds(1);
        await using SqsTransport transport = new(options);
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("gather", "billing", "c1"), CancellationToken.None);
        SqsQueue queue = ((SqsReceiver)receiver).Queue;
        for (int i = 0; i < 3; i++)
        {
            await transport.SendAsync(Message($"g-{i}"), CancellationToken.None);
        }

        using CancellationTokenSource timeout = new(Patience);
        List<ReceivedMessage> handed = [];
        while (handed.Count < 3)
        {
            handed.Add(await receiver.ReceiveAsync(timeout.Token));
            Assert.True(queue.DeletesExpected);
        }

        await handed[0].AckAsync(timeout.Token);
        await handed[0].AckAsync(timeout.Token); // an acknowledgement tried again counts once
        Assert.True(queue.DeletesExpected);
        await handed[1].RetryAsync(TimeSpan.Zero, timeout.Token);
        Assert.True(queue.DeletesExpected);
        await handed[2].AckAsync(timeout.Token);
        Assert.False(queue.DeletesExpected);

        // The retried one comes back, is handed out again, and is the only one left to settle.
        ReceivedMessage again = await receiver.ReceiveAsync(timeout.Token);
        Assert.Equal("g-1", again.Message.MessageId);
        Assert.True(queue.DeletesExpected);
        await again.AckAsync(timeout.Token);
        Assert.False(queue.DeletesExpected);
    }

    private static TransportMessage Message(string id) => new()
    {
        Destination = "gather",
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = id, [MessageHeaders.MessageType] = "test.gather" },
        Body = Encoding.UTF8.GetBytes("{}"),
    };
}
