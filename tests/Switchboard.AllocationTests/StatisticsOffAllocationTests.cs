namespace Switchboard.AllocationTests;

/// <summary>With <see cref="BusOptions.EnableStatistics"/> off, the fast paths take their other branch: still 0 B per message.</summary>
public sealed class StatisticsOffAllocationTests
{
    private static readonly Ping Ping = new(1);
    private static readonly DoWork DoWork = new(2);
    private static readonly Query Query = new(3);

    [Fact]
    public async Task PublishSendAndRequest_WithStatisticsOff_AllocateNothing()
    {
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.EnableStatistics = false;
            b.Handle<Ping>(_ => counter.Hit());
            b.Handle<Ping>(_ => counter.Hit());
            b.Handle<DoWork>(_ => counter.Hit());
            b.Handle<Query, Answer>(_ =>
            {
                counter.Hit();
                return Answer.Cached;
            });
        });

        long publish = AllocationMeter.Measure(() => bus.PublishAsync(Ping));
        long send = AllocationMeter.Measure(() => bus.SendAsync(DoWork));
        long request = AllocationMeter.Measure(() => bus.RequestAsync(Query));

        Assert.True(publish == 0, AllocationMeter.Describe("PublishAsync to 2 sync handlers, statistics off", publish));
        Assert.True(send == 0, AllocationMeter.Describe("SendAsync, statistics off", send));
        Assert.True(request == 0, AllocationMeter.Describe("RequestAsync, statistics off", request));
        Assert.Equal(4L * (AllocationMeter.WarmUp + AllocationMeter.Iterations), counter.Value);
        Assert.Equal(0, bus.GetStatistics().HandlersInvoked);
    }
}
