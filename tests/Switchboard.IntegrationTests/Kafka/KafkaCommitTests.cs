using System.Text;
using Switchboard.Kafka;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// The commits a partition's next owner relies on: Kafka keeps no delivery count, so the next owner reads the committed
/// offset to know which records were delivered before. They must exist even for a brand-new group, and a graceful stop must
/// land its commit even when the group coordinator refuses commits for a while (a group rebalancing).
/// </summary>
[Collection(nameof(KafkaFaultCollection))]
public sealed class KafkaCommitTests : IAsyncLifetime
{
    private const short OffsetCommitApi = 8;
    private const int RebalanceInProgress = 27;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly string _prefix = KafkaServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task BrandNewGroup_CommitsWhereItStarts_BeforeItsFirstRecordIsHandedOut()
    {
        const string destination = "fresh";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        await transport.SendAsync(Message(destination, "m-0"), CancellationToken.None);
        await transport.SendAsync(Message(destination, "m-1"), CancellationToken.None);
        ITransportReceiver receiver = Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "audit", "first"), CancellationToken.None));

        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage taken = await receiver.ReceiveAsync(timeout.Token);

        Assert.Equal("m-0", Body(taken));
        Assert.Equal(1, taken.DeliveryCount);
        // Nothing handled yet, and the group never committed before: its starting point is committed, so that a member that
        // dies now (without committing anything) still tells the next owner that m-0 may have been delivered.
        KafkaPartitionInfo partition = Assert.Single((await transport.GetStreamInfoAsync(destination, "audit")).Partitions);
        Assert.Equal(0, partition.CommittedOffset);
    }

    [Fact]
    public async Task GracefulStop_WhileTheCoordinatorRefusesCommits_StillCommitsWhatWasHandled_AndTheSurvivorCountsARedelivery()
    {
        const string destination = "refused";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransportOptions options = KafkaServer.Options(_prefix);
        options.CommitInterval = TimeSpan.FromHours(1); // no background commit: only the stop's commit can move the offset
        KafkaTransport first = Own(new KafkaTransport(options));
        KafkaTransport second = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        ITransportReceiver dying = await first.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "dying"), CancellationToken.None);
        await first.SendAsync(Message(destination, "m-0"), CancellationToken.None);
        await first.SendAsync(Message(destination, "m-1"), CancellationToken.None);
        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage handled = await dying.ReceiveAsync(timeout.Token);
        await handled.AckAsync(CancellationToken.None);
        ReceivedMessage abandoned = await dying.ReceiveAsync(timeout.Token);
        Assert.Equal(("m-0", "m-1"), (Body(handled), Body(abandoned)));

        // What a coordinator answers while its group rebalances (a member joining): the next commits are refused.
        await KafkaServer.FailNextRequestsAsync(OffsetCommitApi, RebalanceInProgress, count: 3);
        await dying.DisposeAsync();

        KafkaPartitionInfo partition = Assert.Single((await second.GetStreamInfoAsync(destination, "billing")).Partitions);
        Assert.Equal(1, partition.CommittedOffset); // m-0 handled, m-1 not
        ITransportReceiver survivor = Own(await second.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "survivor"), CancellationToken.None));
        ReceivedMessage again = await survivor.ReceiveAsync(timeout.Token);
        Assert.Equal("m-1", Body(again));
        Assert.Equal(2, again.DeliveryCount);
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private static string Body(ReceivedMessage message) => Encoding.UTF8.GetString(message.Message.Body.Span);

    private static TransportMessage Message(string destination, string body) => new()
    {
        Destination = destination,
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N") },
        Body = Encoding.UTF8.GetBytes(body),
        PartitionKey = "k",
    };
}
