using System.Collections.Concurrent;
using Switchboard.Observability;

namespace Switchboard.Tests.Observability;

// The root bus counts its fast paths per route (StripedCounter) instead of per thread; these pin what that must keep:
// exact totals under contention, scopes apart, the switch between the fast and the general path, and handlers a
// cancelled publish never reached.
public sealed class FastPathStatisticsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    public sealed record Tick(int N);

    public sealed record Tock(int N);

    public sealed record Add(int A, int B) : IRequest<int>;

    [Theory]
    [InlineData(0)] // default stacks: one region each, so every thread but the first counts in a cell
    [InlineData(256 * 1024)] // small stacks: several threads share a stack region, and so the base or a cell
    public void StripedCounter_ThreadsIncrementingAtOnce_LosesNothing(int stackSize)
    {
        const int threads = 8;
        const int perThread = 200_000;
        Holder holder = new();
        using Barrier start = new(threads);
        Thread[] workers = [.. Enumerable.Range(0, threads).Select(_ => new Thread(
            () =>
            {
                start.SignalAndWait();
                for (int i = 0; i < perThread; i++)
                {
                    holder.Counter.Increment();
                }
            },
            stackSize))];

        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Generous));
        }

        Assert.Equal((long)threads * perThread, holder.Counter.Value);
    }

    [Fact]
    public async Task Statistics_ThreadsPublishingSendingAndRequestingOneTypeAtOnce_AreExact()
    {
        const int threads = 4;
        const int perThread = 50_000;
        long handled = 0;
        using Barrier start = new(threads);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => Interlocked.Increment(ref handled));
            b.Handle<Tick>(_ => Interlocked.Increment(ref handled));
            b.Handle<Tock>(_ => Interlocked.Increment(ref handled));
            b.Handle<Add, int>(q => q.A + q.B);
        });

        Thread[] workers = [.. Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            Tick tick = new(1);
            Tock tock = new(2);
            Add add = new(1, 2);
            start.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                // Every handler completes synchronously: these are the fast paths, on real threads colliding on one route.
                Assert.True(bus.PublishAsync(tick).IsCompletedSuccessfully);
                Assert.True(bus.SendAsync(tock).IsCompletedSuccessfully);
                ValueTask<int> answer = bus.RequestAsync(add);
                Assert.True(answer.IsCompletedSuccessfully);
                Assert.Equal(3, answer.Result);
            }
        }))];

        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Generous));
        }

        long operations = (long)threads * perThread;
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(operations, stats.EventsPublished);
        Assert.Equal(operations, stats.CommandsSent);
        Assert.Equal(operations, stats.RequestsSent);
        Assert.Equal(4 * operations, stats.HandlersInvoked);
        Assert.Equal(3 * operations, Interlocked.Read(ref handled));
    }

    [Fact]
    public async Task Statistics_BeforeDuringAndAfterARuntimeSubscription_AddUpAcrossBothPaths()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Tick>(_ => { }));

        await bus.PublishAsync(new Tick(1));
        int seen = 0;
        Subscription subscription = bus.Subscribe<Tick>(_ => seen++);
        await bus.PublishAsync(new Tick(2));
        await bus.PublishAsync(new Tick(3));
        subscription.Dispose();
        await bus.PublishAsync(new Tick(4));

        // The subscriber saw exactly the events published while it was subscribed, and nothing was counted twice.
        Assert.Equal(2, seen);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(4, stats.EventsPublished);
        Assert.Equal(4 + 2, stats.HandlersInvoked);
    }

    [Fact]
    public async Task Statistics_OfAScopeAndItsRoot_StayApartWhileTheRootTakesTheFastPath()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => { });
            b.Handle<Tock>(_ => { });
            b.Handle<Add, int>(q => q.A + q.B);
        });
        await using IMessageBus scope = bus.CreateScope("tenant-1");

        await bus.PublishAsync(new Tick(1));
        await bus.SendAsync(new Tock(1));
        await scope.PublishAsync(new Tick(2));
        await scope.PublishAsync(new Tick(3));
        await scope.SendAsync(new Tock(2));
        Assert.Equal(3, await scope.RequestAsync(new Add(1, 2)));

        BusStatistics root = bus.GetStatistics();
        Assert.Equal((1, 1, 0, 2), (root.EventsPublished, root.CommandsSent, root.RequestsSent, root.HandlersInvoked));
        BusStatistics scoped = scope.GetStatistics();
        Assert.Equal((2, 1, 1, 4), (scoped.EventsPublished, scoped.CommandsSent, scoped.RequestsSent, scoped.HandlersInvoked));
    }

    [Fact]
    public async Task Statistics_PublishCancelledWhileItsFirstHandlerRuns_CountsOnlyTheHandlerThatRan()
    {
        TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int later = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(async (_, ct) =>
            {
                entered.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
            });
            b.Handle<Tick>(_ => later++);
            b.Handle<Tick>(_ => later++);
        });
        using CancellationTokenSource cancel = new();

        ValueTask publish = bus.PublishAsync(new Tick(1), cancellationToken: cancel.Token);
        await entered.Task.WaitAsync(Generous);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publish.AsTask().WaitAsync(Generous));
        Assert.Equal(0, later);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.EventsPublished);
        Assert.Equal(1, stats.HandlersInvoked);
    }

    [Fact]
    public async Task Statistics_HandlersThatThrowOnTheFastPaths_AreInvokedCountedAndReported()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => throw new InvalidOperationException("tick"));
            b.Handle<Tock>(_ => throw new InvalidOperationException("tock"));
            b.Handle<Add, int>(_ => throw new InvalidOperationException("add"));
        });

        await bus.PublishAsync(new Tick(1)); // isolated by default
        InvalidOperationException sent = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.SendAsync(new Tock(1)).AsTask());
        InvalidOperationException requested = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.RequestAsync(new Add(1, 2)).AsTask());

        Assert.Equal("tock", sent.Message);
        Assert.Equal("add", requested.Message);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal((1, 1, 1, 3, 3), (stats.EventsPublished, stats.CommandsSent, stats.RequestsSent, stats.HandlersInvoked, stats.HandlerErrors));
    }

    [Fact]
    public async Task Publish_ToSynchronousHandlersThatRunFused_EachFailureIsItsOwnAndEveryHandlerRunsOnce()
    {
        // Five synchronous delegates of one type run as one fused call on the fast path; failures at positions 0, 2 and 4
        // must each be reported as that handler's, in order, with every handler run exactly once.
        InvalidOperationException first = new("first");
        FormatException third = new("third");
        ArgumentException fifth = new("fifth");
        List<string> ran = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = HandlerErrorMode.Throw;
            b.Handle<Tick>(_ => throw first);
            b.Handle<Tick>(_ => ran.Add("second"));
            b.Handle<Tick>(_ => throw third);
            b.Handle<Tick>(_ => ran.Add("fourth"));
            b.Handle<Tick>(_ => throw fifth);
        });

        for (int round = 1; round <= 2; round++)
        {
            AggregateException error = await Assert.ThrowsAsync<AggregateException>(async () => await bus.PublishAsync(new Tick(round)));
            Assert.Equal([first, third, (Exception)fifth], error.InnerExceptions);
        }

        Assert.Equal(["second", "fourth", "second", "fourth"], ran);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal((2, 10, 6), (stats.EventsPublished, stats.HandlersInvoked, stats.HandlerErrors));
    }

    [Fact]
    public async Task Background_BareEventsOptionsScopesAndBatches_AllRunAndAreCountedOnTheirOwnBus()
    {
        // Root events with nothing but Background travel as the bare event; the others in a work item. Both kinds must
        // run with their options and be counted on the bus that published them.
        ConcurrentQueue<string?> correlations = new();
        long ticks = 0;
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 2;
            b.Handle<Tick>(_ => Interlocked.Increment(ref ticks));
            b.Handle<Tock>((_, context, _) =>
            {
                correlations.Enqueue(context.CorrelationId);
                return ValueTask.CompletedTask;
            });
        });
        IMessageBus scope = bus.CreateScope("tenant");

        for (int i = 0; i < 1_000; i++)
        {
            await bus.PublishAsync(new Tick(i), PublishOptions.InBackground);
        }

        await bus.PublishAsync(new Tock(1), new PublishOptions { Background = true, CorrelationId = "c-1" });
        await bus.PublishBatchAsync([new Tick(-1), new Tick(-2)], PublishOptions.InBackground);
        await scope.PublishAsync(new Tick(-3), PublishOptions.InBackground);
        await scope.ShutdownAsync(Generous);
        Assert.True((await bus.ShutdownAsync(Generous)).Completed);

        Assert.Equal(1_003, Interlocked.Read(ref ticks));
        Assert.Equal(["c-1"], correlations);
        BusStatistics root = bus.GetStatistics();
        // 1,000 bare events, one with options, one batch of two: 1,002 background tasks, 1,003 events.
        Assert.Equal((1_002, 1_002, 1_003), (root.BackgroundTasksCreated, root.BackgroundTasksCompleted, root.EventsPublished));
        BusStatistics scoped = scope.GetStatistics();
        Assert.Equal((1, 1, 1), (scoped.BackgroundTasksCreated, scoped.BackgroundTasksCompleted, scoped.EventsPublished));
    }

    [Fact]
    public async Task Publish_AfterShutdownBegan_ThrowsInsteadOfTakingTheFastPath()
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Tick>(_ => { });
            b.Handle<Tock>(_ => { });
            b.Handle<Add, int>(q => q.A + q.B);
        });
        await bus.PublishAsync(new Tick(1));

        await bus.ShutdownAsync(Generous);

        Assert.Throws<BusStoppedException>(() => bus.PublishAsync(new Tick(2)));
        Assert.Throws<BusStoppedException>(() => bus.SendAsync(new Tock(2)));
        Assert.Throws<BusStoppedException>(() => bus.RequestAsync(new Add(1, 2)));
        Assert.Equal(1, bus.GetStatistics().EventsPublished);
    }

    private sealed class Holder
    {
        public StripedCounter Counter;
    }
}
