namespace Switchboard.Tests.Messages;

public sealed class CascadeFailureTests
{
    public sealed record Checkout(string Id);
    public sealed record ChargeCard(string Id);
    public sealed record CheckedOut(string Id);

    [Fact]
    public async Task FailedCascadedCommand_DoesNotHoldBackTheCascadedMessagesAfterIt()
    {
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Checkout>(async (c, context, ct) =>
            {
                await context.SendAsync(new ChargeCard(c.Id), ct);
                await context.PublishAsync(new CheckedOut(c.Id), ct);
            });
            b.Handle<ChargeCard>(_ => throw new InvalidOperationException("card declined"));
            b.Handle<CheckedOut>(e => seen.Add(e.Id));
        });

        await bus.PublishAsync(new Checkout("c-1"));

        Assert.Equal(["c-1"], seen);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task Shutdown_WithAPublisherBlockedOnAStreamNobodyReads_ReportsItWithinTheTimeout()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<CheckedOut> stream = bus.Stream<CheckedOut>(new StreamOptions { Capacity = 1 });
        await bus.PublishAsync(new CheckedOut("1"));
        ValueTask blocked = bus.PublishAsync(new CheckedOut("2"));
        Assert.False(blocked.IsCompleted);

        ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromMilliseconds(200));

        Assert.False(report.Completed);
        Assert.Equal(1, report.InFlightAbandoned);
        await blocked; // ending the stream released it
        List<string> read = [];
        await foreach (CheckedOut e in stream)
        {
            read.Add(e.Id);
        }

        Assert.Equal(["1"], read);
    }
}
