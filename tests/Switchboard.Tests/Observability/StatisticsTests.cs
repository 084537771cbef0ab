namespace Switchboard.Tests.Observability;

// Item 12 of issue 2: GetStatistics() is exact under concurrency.
public sealed class StatisticsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    public sealed record Tick(int N);

    public sealed record Tock(int N);

    public sealed record Add(int A, int B) : IRequest<int>;

    [Fact]
    public async Task Statistics_FourTasksPublishingTenThousandEventsToTwoHandlers_AreExact()
    {
        const int tasks = 4;
        const int perTask = 10_000;
        long first = 0;
        long second = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => Interlocked.Increment(ref first));
            b.Handle<Tick>(_ => Interlocked.Increment(ref second));
        });

        await RunConcurrentlyAsync(tasks, async () =>
        {
            for (int i = 0; i < perTask; i++)
            {
                await bus.PublishAsync(new Tick(i));
            }
        });

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(tasks * perTask, stats.EventsPublished);
        Assert.Equal(2L * tasks * perTask, stats.HandlersInvoked);
        Assert.Equal(0, stats.HandlerErrors);
        Assert.Equal(tasks * perTask, Interlocked.Read(ref first));
        Assert.Equal(tasks * perTask, Interlocked.Read(ref second));
    }

    [Fact]
    public async Task Statistics_WithHandlersThatGoAsynchronous_AreExact()
    {
        const int tasks = 4;
        const int perTask = 2_000;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => { });
            b.Handle<Tick>(async (t, ct) =>
            {
                if (t.N % 2 == 0)
                {
                    await Task.Yield();
                }
            });
            b.Handle<Tick>(async (t, context, ct) => await Task.Yield());
        });
        using Subscription subscription = bus.Subscribe<Tick>(async (t, ct) => await Task.Yield());

        await RunConcurrentlyAsync(tasks, async () =>
        {
            for (int i = 0; i < perTask; i++)
            {
                await bus.PublishAsync(new Tick(i));
            }
        });

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(tasks * perTask, stats.EventsPublished);
        Assert.Equal(4L * tasks * perTask, stats.HandlersInvoked);
    }

    [Fact]
    public async Task Statistics_TopicEventsBatchesCommandsAndRequests_AreCountedExactly()
    {
        const int tasks = 4;
        const int perTask = 500;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => { });
            b.Handle<Tock>(async (t, ct) => await Task.Yield());
            b.Handle<Add, int>(q => q.A + q.B);
        });
        using Subscription topic = bus.Subscribe("ticks/*", (TopicMessage m) => { });

        await RunConcurrentlyAsync(tasks, async () =>
        {
            for (int i = 0; i < perTask; i++)
            {
                await bus.PublishAsync("ticks/new", new { N = i });
                await bus.PublishBatchAsync([new Tick(i), new Tick(i + 1)]);
                await bus.SendAsync(new Tock(i));
                Assert.Equal(i + 1, await bus.RequestAsync(new Add(i, 1)));
            }
        });

        BusStatistics stats = bus.GetStatistics();
        int operations = tasks * perTask;
        Assert.Equal(3L * operations, stats.EventsPublished);
        Assert.Equal(operations, stats.CommandsSent);
        Assert.Equal(operations, stats.RequestsSent);
        Assert.Equal(5L * operations, stats.HandlersInvoked);
        Assert.Equal(0, stats.HandlerErrors);
    }

    [Fact]
    public async Task Statistics_BackgroundPublishesFromSeveralTasks_AreCreatedAndCompletedExactly()
    {
        const int tasks = 4;
        const int perTask = 500;
        long handled = 0;
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 3;
            b.Handle<Tick>(async (t, ct) =>
            {
                await Task.Yield();
                Interlocked.Increment(ref handled);
            });
        });
        await using (bus)
        {
            await RunConcurrentlyAsync(tasks, async () =>
            {
                for (int i = 0; i < perTask; i++)
                {
                    await bus.PublishAsync(new Tick(i), PublishOptions.InBackground);
                }
            });

            ShutdownReport report = await bus.ShutdownAsync(Generous);

            Assert.True(report.Completed);
            BusStatistics stats = bus.GetStatistics();
            Assert.Equal(tasks * perTask, stats.BackgroundTasksCreated);
            Assert.Equal(tasks * perTask, stats.BackgroundTasksCompleted);
            Assert.Equal(tasks * perTask, stats.EventsPublished);
            Assert.Equal(tasks * perTask, stats.HandlersInvoked);
            Assert.Equal(tasks * perTask, Interlocked.Read(ref handled));
        }
    }

    [Fact]
    public async Task Statistics_AreASnapshotThatLaterWorkDoesNotChange()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Tick>(_ => { }));
        await bus.PublishAsync(new Tick(1));

        BusStatistics before = bus.GetStatistics();
        await bus.PublishAsync(new Tick(2));
        BusStatistics after = bus.GetStatistics();

        Assert.Equal(1, before.EventsPublished);
        Assert.Equal(1, before.HandlersInvoked);
        Assert.Equal(2, after.EventsPublished);
        Assert.Equal(2, after.HandlersInvoked);
    }

    [Fact]
    public async Task Statistics_OfTwoBuses_AreIndependent()
    {
        await using IMessageBus first = MessageBus.Create(b => b.Handle<Tick>(_ => { }));
        await using IMessageBus second = MessageBus.Create(b => b.Handle<Tick>(_ => { }));

        // Interleaved on one thread, so that the per-thread counter slots of the two buses alternate.
        for (int i = 0; i < 10; i++)
        {
            await first.PublishAsync(new Tick(i));
            await first.PublishAsync(new Tick(i));
            await second.PublishAsync(new Tick(i));
        }

        Assert.Equal(20, first.GetStatistics().EventsPublished);
        Assert.Equal(10, second.GetStatistics().EventsPublished);
    }

    private static Task RunConcurrentlyAsync(int tasks, Func<Task> body)
        => Task.WhenAll(Enumerable.Range(0, tasks).Select(_ => Task.Run(body))).WaitAsync(Generous);
}
