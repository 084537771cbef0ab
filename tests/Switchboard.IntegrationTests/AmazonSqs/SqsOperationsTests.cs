using Switchboard.AmazonSqs;
using Switchboard.Operations;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>What the operations page and the switchboard CLI read of SQS: queue names back to groups, the groups there are, the numbers.</summary>
public sealed class SqsOperationsTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await SqsServer.DeleteQueuesAsync(_prefix);
    }

    [Theory]
    [InlineData("p-orders--billing", false, "orders", "billing")]
    [InlineData("p-orders--billing--dlq", false, "orders", "billing")]
    [InlineData("p-orders--billing.fifo", true, "orders", "billing")]
    [InlineData("p-orders--billing--dlq.fifo", true, "orders", "billing")]
    public void QueueNames_TryParse_ReadsGroupAndDeadLetterQueues(string name, bool fifo, string destination, string group)
    {
        Assert.True(SqsQueueNames.TryParse(name, "p-", fifo, out string parsedDestination, out string parsedGroup));
        Assert.Equal((destination, group), (parsedDestination, parsedGroup));
    }

    [Theory]
    [InlineData("p-orders--billing.fifo", false)]
    [InlineData("p-orders--billing", true)]
    [InlineData("p-orders", false)]
    [InlineData("p-orders--", false)]
    [InlineData("p---billing", false)]
    [InlineData("p-a--b--c", false)]
    [InlineData("other-orders--billing", false)]
    public void QueueNames_TryParse_SkipsOtherQueues(string name, bool fifo)
        => Assert.False(SqsQueueNames.TryParse(name, "p-", fifo, out _, out _));

    [Fact]
    public void QueueNames_ALongNameShortenedWithAHash_ParsesToANameThatMapsToTheSameQueue()
    {
        string destination = "a-destination-name-far-longer-than-twenty-four";
        string queue = SqsQueueNames.DeadLetterQueue("p-", destination, "billing", fifo: false);

        Assert.True(SqsQueueNames.TryParse(queue, "p-", fifo: false, out string parsed, out string group));
        Assert.Equal(queue, SqsQueueNames.DeadLetterQueue("p-", parsed, group, fifo: false));
    }

    [Fact]
    public async Task ListConsumerGroups_FindsTheGroupsOfItsKind_AndInspectCountsVisibleAndDeadLetters()
    {
        SqsTransportOptions standardOptions = SqsServer.Options(_prefix);
        SqsTransport standard = new(standardOptions);
        _owned.Add(standard);
        SqsTransportOptions fifoOptions = SqsServer.Options(_prefix);
        fifoOptions.Fifo = true;
        SqsTransport fifo = new(fifoOptions);
        _owned.Add(fifo);
        await (await standard.CreateReceiverAsync(new ReceiverOptions("orders", "billing", "c1"), CancellationToken.None)).DisposeAsync();
        await (await standard.CreateReceiverAsync(new ReceiverOptions("orders", "shipping", "c1"), CancellationToken.None)).DisposeAsync();
        await (await fifo.CreateReceiverAsync(new ReceiverOptions("ledger", "audit", "c1"), CancellationToken.None)).DisposeAsync();

        IReadOnlyList<SqsConsumerGroup> standardGroups = await standard.ListConsumerGroupsAsync();
        IReadOnlyList<SqsConsumerGroup> fifoGroups = await fifo.ListConsumerGroupsAsync();
        Assert.Equal([new SqsConsumerGroup("orders", "billing"), new SqsConsumerGroup("orders", "shipping")], standardGroups);
        Assert.Equal([new SqsConsumerGroup("ledger", "audit")], fifoGroups);

        await standard.SendAsync(new TransportMessage { Destination = "orders", Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "o-1" }, Body = "{}"u8.ToArray() }, CancellationToken.None);
        DestinationInfo info = default!;
        await Eventually.TrueAsync(() => (info = standard.InspectAsync("orders", "billing").AsTask().Result).Backlog == 1, Patience);

        Assert.Equal(0, info.InFlight);
        Assert.Equal(0, info.Delayed);
        Assert.Null(info.Consumers);
        Assert.Null(info.Lag);
        Assert.Null(info.LastError);
    }
}
