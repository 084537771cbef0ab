namespace Switchboard.Tests.Observability;

// BusOptions.EnableStatistics: on (the default) every dispatch is counted; off, the handlers still run on every path and
// the counts read 0, on the fast paths (which then skip the thread-local count) and the general ones alike.
public sealed class StatisticsSwitchTests
{
    public sealed record Tick(int N);

    public sealed record Order(string Id);

    public sealed record Price(int Cents) : IRequest<int>;

    [Fact]
    public void EnableStatistics_IsOnByDefault()
        => Assert.True(new BusOptions().EnableStatistics);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Statistics_FastAndGeneralPaths_CountOnlyWhenEnabled(bool enabled)
    {
        int ticks = 0, orders = 0, prices = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.EnableStatistics = enabled;
            b.Handle<Tick>(_ => Interlocked.Increment(ref ticks));
            b.Handle<Tick>(_ => Interlocked.Increment(ref ticks));
            b.Handle<Order>(_ => Interlocked.Increment(ref orders));
            b.Handle<Price, int>(p =>
            {
                Interlocked.Increment(ref prices);
                return p.Cents * 2;
            });
        });

        // Fast paths: no options, no context, nobody listening.
        await bus.PublishAsync(new Tick(1));
        await bus.SendAsync(new Order("o-1"));
        Assert.Equal(10, await bus.RequestAsync(new Price(5)));

        // General paths: options, metadata, a background publish.
        await bus.PublishAsync(new Tick(2), new PublishOptions { CorrelationId = "c-1" });
        await bus.RequestAsync(new Price(6), new RequestOptions());
        await bus.PublishAsync(new Tick(3), new PublishOptions { Background = true });
        await WaitUntilAsync(() => Volatile.Read(ref ticks) == 6);

        Assert.Equal((6, 1, 2), (ticks, orders, prices));
        BusStatistics stats = bus.GetStatistics();
        if (enabled)
        {
            Assert.Equal(3, stats.EventsPublished);
            Assert.Equal(1, stats.CommandsSent);
            Assert.Equal(2, stats.RequestsSent);
            Assert.Equal(9, stats.HandlersInvoked);
        }
        else
        {
            Assert.Equal(0, stats.EventsPublished);
            Assert.Equal(0, stats.CommandsSent);
            Assert.Equal(0, stats.RequestsSent);
            Assert.Equal(0, stats.HandlersInvoked);
            Assert.Equal(0, stats.HandlerErrors);
            Assert.Equal(0, stats.BackgroundTasksCreated);
        }

        Assert.NotEmpty(stats.Transports);
    }

    [Fact]
    public async Task Statistics_Off_HandlerErrorsStillIsolatedAndReported()
    {
        int after = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.EnableStatistics = false;
            b.Handle<Tick>(_ => throw new InvalidOperationException("boom"));
            b.Handle<Tick>(_ => after++);
        });

        await bus.PublishAsync(new Tick(1));
        Assert.Equal(1, after);
        await Assert.ThrowsAsync<AggregateException>(async () =>
            await bus.PublishAsync(new Tick(2), new PublishOptions { HandlerErrors = HandlerErrorMode.Throw }));
        Assert.Equal(0, bus.GetStatistics().HandlerErrors);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
