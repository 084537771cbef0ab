namespace Switchboard.Tests.Dispatch;

// Item 10 of issue 2: one handler's exception never stops the others; by default it is isolated (counted, the publish
// succeeds); HandlerErrorMode.Throw on the bus or per publish gives an AggregateException of every failure after every
// handler ran; throwing handlers never corrupt statistics, leak in-flight work or subscriptions.
public sealed class HandlerErrorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record Charge(int N);

    public sealed record Refund(int N);

    public sealed record Quote(int N) : IRequest<int>;

    [Fact]
    public async Task PublishAsync_ByDefault_IsolatesAThrowingHandlerAndRunsTheOthers()
    {
        List<string> ran = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(_ => ran.Add("first"));
            b.Handle<Charge>(_ => throw new InvalidOperationException("second fails"));
            b.Handle<Charge>(_ => ran.Add("third"));
        });

        await bus.PublishAsync(new Charge(1));

        Assert.Equal(["first", "third"], ran);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(3, stats.HandlersInvoked);
        Assert.Equal(1, stats.HandlerErrors);
        Assert.Equal(1, stats.EventsPublished);
    }

    [Fact]
    public async Task PublishAsync_ByDefault_IsolatesAnAsynchronousFailureAndAContextHandlersFailure()
    {
        List<string> ran = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(async (_, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("async");
            });
            b.Handle<Charge>(_ => ran.Add("sync"));
            b.Handle<Charge>(async (_, context, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("context");
            });
            b.Handle<Charge>(async (_, ct) =>
            {
                await Task.Yield();
                ran.Add("async");
            });
        });

        await bus.PublishAsync(new Charge(1));

        Assert.Equal(["sync", "async"], ran);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(4, stats.HandlersInvoked);
        Assert.Equal(2, stats.HandlerErrors);
    }

    [Fact]
    public async Task PublishAsync_WithThrowModeOnTheBus_ThrowsAggregateOfEveryFailureAfterAllHandlersRan()
    {
        InvalidOperationException first = new("first");
        FormatException third = new("third");
        List<string> ran = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = HandlerErrorMode.Throw;
            b.Handle<Charge>(_ => throw first);
            b.Handle<Charge>(_ => ran.Add("second"));
            b.Handle<Charge>(async (_, ct) =>
            {
                await Task.Yield();
                throw third;
            });
            b.Handle<Charge>(_ => ran.Add("fourth"));
        });

        AggregateException error = await Assert.ThrowsAsync<AggregateException>(async () => await bus.PublishAsync(new Charge(1)));

        Assert.Equal([first, (Exception)third], error.InnerExceptions);
        Assert.Equal(["second", "fourth"], ran);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(4, stats.HandlersInvoked);
        Assert.Equal(2, stats.HandlerErrors);
    }

    [Fact]
    public async Task PublishAsync_WithThrowModeInThePublishOptions_OverridesTheIsolatingDefault()
    {
        InvalidOperationException boom = new("boom");
        int ran = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(_ => throw boom);
            b.Handle<Charge>(_ => ran++);
        });

        AggregateException error = await Assert.ThrowsAsync<AggregateException>(
            async () => await bus.PublishAsync(new Charge(1), new PublishOptions { HandlerErrors = HandlerErrorMode.Throw }));
        await bus.PublishAsync(new Charge(2));

        Assert.Same(boom, Assert.Single(error.InnerExceptions));
        Assert.Equal(2, ran);
        Assert.Equal(2, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task PublishAsync_WithIsolateInThePublishOptions_OverridesThrowOnTheBus()
    {
        int ran = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = HandlerErrorMode.Throw;
            b.Handle<Charge>(_ => throw new InvalidOperationException("boom"));
            b.Handle<Charge>(_ => ran++);
        });

        await bus.PublishAsync(new Charge(1), new PublishOptions { HandlerErrors = HandlerErrorMode.Isolate });

        Assert.Equal(1, ran);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task PublishBatchAsync_WithThrowMode_StillRunsEveryHandlerOfTheFailingEvent()
    {
        List<int> ran = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(c =>
            {
                if (c.N == 2)
                {
                    throw new InvalidOperationException("two");
                }
            });
            b.Handle<Charge>(c => ran.Add(c.N));
        });

        await Assert.ThrowsAsync<AggregateException>(
            async () => await bus.PublishBatchAsync([new Charge(1), new Charge(2), new Charge(3)], new PublishOptions { HandlerErrors = HandlerErrorMode.Throw }));

        Assert.Equal([1, 2], ran);
    }

    [Fact]
    public async Task PublishBatchAsync_InBackgroundWithThrowMode_StillPublishesTheEventsAfterAFailingOne()
    {
        // Nobody waits for a background batch, so a failure cannot be thrown to anyone: it must not drop the rest.
        TaskCompletionSource last = new(TaskCreationOptions.RunContinuationsAsynchronously);
        List<int> ran = [];
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(c =>
            {
                if (c.N == 2)
                {
                    throw new InvalidOperationException("two");
                }
            });
            b.Handle<Charge>(c =>
            {
                ran.Add(c.N);
                if (c.N == 4)
                {
                    last.SetResult();
                }
            });
        });
        await using (bus)
        {
            await bus.PublishBatchAsync(
                [new Charge(1), new Charge(2), new Charge(3), new Charge(4)],
                new PublishOptions { Background = true, HandlerErrors = HandlerErrorMode.Throw });

            await last.Task.WaitAsync(Patience);
            ShutdownReport report = await bus.ShutdownAsync(Patience);

            Assert.True(report.Completed);
            Assert.Equal([1, 2, 3, 4], ran);
            BusStatistics stats = bus.GetStatistics();
            Assert.Equal(4, stats.EventsPublished);
            Assert.Equal(1, stats.HandlerErrors);
            Assert.Equal(1, stats.BackgroundTasksCompleted);
        }
    }

    [Fact]
    public async Task PublishAsync_HandlerThrowingOperationCanceledWithoutCancellation_IsCountedAsAFailure()
    {
        int ran = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(_ => throw new OperationCanceledException("the handler's own timeout"));
            b.Handle<Charge>(_ => ran++);
        });

        await bus.PublishAsync(new Charge(1));

        Assert.Equal(1, ran);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task ThrowingRuntimeSubscriber_IsIsolatedStaysSubscribedAndIsGoneAfterDispose()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        int failing = 0;
        int healthy = 0;
        Subscription throwing = bus.Subscribe<Charge>(_ =>
        {
            failing++;
            throw new InvalidOperationException("subscriber");
        });
        using Subscription ok = bus.Subscribe<Charge>(_ => healthy++);

        await bus.PublishAsync(new Charge(1));
        await bus.PublishAsync(new Charge(2));
        throwing.Dispose();
        await bus.PublishAsync(new Charge(3));

        Assert.Equal(2, failing);
        Assert.Equal(3, healthy);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(5, stats.HandlersInvoked);
        Assert.Equal(2, stats.HandlerErrors);
    }

    [Fact]
    public async Task ThrowingProjectionAndCatchAllSubscribers_AreIsolated()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        int healthy = 0;
        using Subscription all = bus.SubscribeToAll((_, _) => throw new InvalidOperationException("catch-all"));
        using Subscription ok = bus.Subscribe<Charge>(_ => healthy++);

        await bus.PublishAsync(new Charge(1));

        Assert.Equal(1, healthy);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task TopicSubscriberThrows_OthersRunAndTheFailureIsCounted()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> ran = [];
        using Subscription failing = bus.Subscribe("charges/*", (TopicMessage m) => throw new InvalidOperationException("topic"));
        using Subscription ok = bus.Subscribe("charges/#", (TopicMessage m) => ran.Add(m.Topic));

        await bus.PublishAsync("charges/created", new { Id = 1 });

        Assert.Equal(["charges/created"], ran);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(2, stats.HandlersInvoked);
        Assert.Equal(1, stats.HandlerErrors);
    }

    [Fact]
    public async Task TopicSubscriberThrows_WithThrowModeOnTheBus_ThrowsAggregateAfterEverySubscriberRan()
    {
        InvalidOperationException boom = new("topic");
        List<string> ran = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Options.HandlerErrors = HandlerErrorMode.Throw);
        using Subscription failing = bus.Subscribe("charges/*", (TopicMessage m) => throw boom);
        using Subscription ok = bus.Subscribe("charges/#", (TopicMessage m) => ran.Add(m.Topic));

        AggregateException error = await Assert.ThrowsAsync<AggregateException>(async () => await bus.PublishAsync("charges/created", new { Id = 1 }));

        Assert.Same(boom, Assert.Single(error.InnerExceptions));
        Assert.Equal(["charges/created"], ran);
    }

    [Theory]
    [InlineData(HandlerErrorMode.Isolate)]
    [InlineData(HandlerErrorMode.Throw)]
    public async Task ThrowingHandlers_LeaveNothingInFlight_SoShutdownCompletes(HandlerErrorMode mode)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = mode;
            b.Handle<Charge>(_ => throw new InvalidOperationException("sync"));
            b.Handle<Charge>(async (_, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("async");
            });
            b.Handle<Charge>(async (_, context, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("context");
            });
            b.Handle<Refund>(async (_, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("refund");
            });
            b.Handle<Quote, int>(async (_, context, ct) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("quote");
            });
        });
        await using (bus)
        {
            for (int i = 0; i < 50; i++)
            {
                try
                {
                    await bus.PublishAsync(new Charge(i));
                }
                catch (AggregateException) when (mode == HandlerErrorMode.Throw)
                {
                }

                await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new Refund(i)));
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.RequestAsync(new Quote(i)));
            }

            ShutdownReport report = await bus.ShutdownAsync(Patience);

            Assert.True(report.Completed);
            Assert.Equal(0, report.InFlightAbandoned);
            BusStatistics stats = bus.GetStatistics();
            Assert.Equal(250, stats.HandlersInvoked);
            Assert.Equal(250, stats.HandlerErrors);
        }
    }

    [Fact]
    public async Task ThrowingHandlers_UnderConcurrency_AreCountedExactly()
    {
        const int tasks = 4;
        const int perTask = 2_000;
        long healthy = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Charge>(c =>
            {
                if (c.N % 2 == 0)
                {
                    throw new InvalidOperationException("even");
                }
            });
            b.Handle<Charge>(async (c, ct) =>
            {
                if (c.N % 4 == 1)
                {
                    await Task.Yield();
                    throw new InvalidOperationException("odd");
                }
            });
            b.Handle<Charge>(_ => Interlocked.Increment(ref healthy));
        });

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < perTask; i++)
            {
                await bus.PublishAsync(new Charge(i));
            }
        }))).WaitAsync(TimeSpan.FromSeconds(30));

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(tasks * perTask, Interlocked.Read(ref healthy));
        Assert.Equal(tasks * perTask, stats.EventsPublished);
        Assert.Equal(3L * tasks * perTask, stats.HandlersInvoked);
        Assert.Equal((tasks * perTask / 2) + (tasks * perTask / 4), stats.HandlerErrors);
    }
}
