namespace Switchboard.AllocationTests;

/// <summary>
/// The hot paths the design promises allocate nothing per message (DESIGN.md §3, "Fast path stays fast"). Timings
/// are not tested anywhere; these keep the allocation half of the promise in CI. Messages are created once, outside
/// the measured loop: the caller's allocation is not the bus's.
/// </summary>
public sealed class HotPathAllocationTests
{
    private static readonly Ping Ping = new(1);
    private static readonly DoWork DoWork = new(2);
    private static readonly Query Query = new(3);

    [Fact]
    public async Task Publish_ToOneSyncHandler_AllocatesNothing()
    {
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(_ => counter.Hit()));

        long bytes = AllocationMeter.Measure(() => bus.PublishAsync(Ping));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to 1 sync handler", bytes));
        Assert.Equal(AllocationMeter.WarmUp + AllocationMeter.Iterations, counter.Value);
    }

    [Fact]
    public async Task Publish_ToThreeSyncHandlers_AllocatesNothing()
    {
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(_ => counter.Hit());
            b.Handle<Ping>(_ => counter.Hit());
            b.Handle<Ping>(_ => counter.Hit());
        });

        long bytes = AllocationMeter.Measure(() => bus.PublishAsync(Ping));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to 3 sync handlers", bytes));
        Assert.Equal(3L * (AllocationMeter.WarmUp + AllocationMeter.Iterations), counter.Value);
    }

    [Fact]
    public async Task Send_ToSyncHandler_AllocatesNothing()
    {
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<DoWork>(_ => counter.Hit()));

        long bytes = AllocationMeter.Measure(() => bus.SendAsync(DoWork));

        Assert.True(bytes == 0, AllocationMeter.Describe("SendAsync to a sync handler", bytes));
        Assert.Equal(AllocationMeter.WarmUp + AllocationMeter.Iterations, counter.Value);
    }

    [Fact]
    public async Task Request_WithSynchronouslyCompletedResult_AllocatesNothing()
    {
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Query, Answer>(_ =>
        {
            counter.Hit();
            return Answer.Cached;
        }));

        long bytes = AllocationMeter.Measure(() => bus.RequestAsync(Query));

        Assert.True(bytes == 0, AllocationMeter.Describe("RequestAsync with a sync result", bytes));
        Assert.Equal(AllocationMeter.WarmUp + AllocationMeter.Iterations, counter.Value);
    }
}
