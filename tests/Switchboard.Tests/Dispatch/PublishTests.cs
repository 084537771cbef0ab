using System.Collections.Concurrent;

namespace Switchboard.Tests.Dispatch;

// Item 1 of issue 2: PublishAsync fans out, base-type and interface handlers receive derived events, zero handlers is
// fine, PublishBatchAsync keeps order per handler (foreground and background) and refuses null events.
public sealed class PublishTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record Ping(int N);

    public sealed record Pong(int N);

    public readonly record struct Tick(int N);

    public interface ITracked
    {
        string TrackingId { get; }
    }

    public abstract record ShipmentEvent(string TrackingId) : DomainEvent, ITracked;

    public sealed record Shipped(string TrackingId) : ShipmentEvent(TrackingId);

    public sealed record Returned(string TrackingId) : ShipmentEvent(TrackingId);

    [Fact]
    public async Task PublishAsync_WithThreeHandlers_InvokesEachOnceWithTheSameEvent()
    {
        ConcurrentQueue<(string Handler, Ping Event)> seen = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(e => seen.Enqueue(("action", e)));
            b.Handle<Ping>(async (e, ct) =>
            {
                await Task.Yield();
                seen.Enqueue(("async", e));
            });
            b.Handle<Ping>((e, context, ct) =>
            {
                seen.Enqueue(("context", e));
                return default;
            });
        });
        Ping ping = new(1);

        await bus.PublishAsync(ping);

        Assert.Equal(["action", "async", "context"], seen.Select(s => s.Handler).Order());
        Assert.All(seen, s => Assert.Same(ping, s.Event));
    }

    [Fact]
    public async Task PublishAsync_InvokesHandlersInRegistrationOrder()
    {
        List<int> order = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            for (int i = 0; i < 5; i++)
            {
                int n = i;
                b.Handle<Ping>(_ => order.Add(n));
            }
        });

        await bus.PublishAsync(new Ping(1));

        Assert.Equal([0, 1, 2, 3, 4], order);
    }

    [Fact]
    public async Task PublishAsync_WithNoHandler_CompletesAndCountsTheEvent()
    {
        int pings = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(_ => pings++));

        await bus.PublishAsync(new Pong(1));

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(0, pings);
        Assert.Equal(1, stats.EventsPublished);
        Assert.Equal(0, stats.HandlersInvoked);
        Assert.Equal(0, stats.HandlerErrors);
    }

    [Fact]
    public async Task PublishAsync_OnABusWithoutAnyHandler_Completes()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        await bus.PublishAsync(new Ping(1));

        Assert.Equal(1, bus.GetStatistics().EventsPublished);
    }

    [Fact]
    public async Task PublishAsync_DerivedEvent_ReachesHandlersOfItsBaseClassesAndInterfacesInRegistrationOrder()
    {
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ITracked>(e => seen.Add("ITracked:" + e.TrackingId));
            b.Handle<Shipped>(e => seen.Add("Shipped:" + e.TrackingId));
            b.Handle<ShipmentEvent>(e => seen.Add("ShipmentEvent:" + e.TrackingId));
            b.Handle<DomainEvent>(e => seen.Add("DomainEvent"));
            b.Handle<object>(e => seen.Add("object:" + e.GetType().Name));
            b.Handle<Returned>(e => seen.Add("Returned:" + e.TrackingId));
        });

        await bus.PublishAsync(new Shipped("t-1"));

        Assert.Equal(["ITracked:t-1", "Shipped:t-1", "ShipmentEvent:t-1", "DomainEvent", "object:Shipped"], seen);
    }

    [Fact]
    public async Task PublishAsync_TypeWithOnlyBaseHandlers_ReachesThemAndNotTheHandlersOfItsSiblings()
    {
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Shipped>(e => seen.Add("Shipped"));
            b.Handle<ShipmentEvent>(e => seen.Add("ShipmentEvent:" + e.GetType().Name));
            b.Handle<ITracked>(e => seen.Add("ITracked:" + e.GetType().Name));
        });

        // No handler is registered for Returned itself: its route is computed on first use from the base registrations.
        await bus.PublishAsync(new Returned("t-2"));
        await bus.PublishAsync(new Returned("t-3"));

        Assert.Equal(["ShipmentEvent:Returned", "ITracked:Returned", "ShipmentEvent:Returned", "ITracked:Returned"], seen);
    }

    [Fact]
    public async Task PublishAsync_DeclaredAsBaseType_RoutesByTheRuntimeType()
    {
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Shipped>(e => seen.Add("Shipped"));
            b.Handle<Returned>(e => seen.Add("Returned"));
        });

        ShipmentEvent declared = new Shipped("t-4");
        await bus.PublishAsync(declared);
        await bus.PublishAsync<object>(new Returned("t-5"));

        Assert.Equal(["Shipped", "Returned"], seen);
    }

    [Fact]
    public async Task PublishAsync_UnrelatedType_DoesNotReachOtherHandlers()
    {
        List<object> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(e => seen.Add(e));
            b.Handle<ShipmentEvent>(e => seen.Add(e));
        });

        await bus.PublishAsync(new Pong(1));

        Assert.Empty(seen);
    }

    [Fact]
    public async Task PublishAsync_StructEvent_ReachesItsHandler()
    {
        List<int> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Tick>(t => seen.Add(t.N)));

        await bus.PublishAsync(new Tick(7));

        Assert.Equal([7], seen);
    }

    [Fact]
    public async Task PublishAsync_CompletesOnlyAfterAnAsynchronousHandlerFinished()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        bool finished = false;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(async (e, ct) =>
        {
            await gate.Task;
            finished = true;
        }));

        ValueTask publishing = bus.PublishAsync(new Ping(1));
        Assert.False(publishing.IsCompleted);

        gate.SetResult();
        await publishing.AsTask().WaitAsync(Patience);
        Assert.True(finished);
    }

    [Fact]
    public async Task PublishAsync_HandlerThatCompletesRightAfterGoingAsynchronous_IsInvokedOnce()
    {
        // The handler's task is pending when the bus first looks at it and complete the next time: the race of a handler
        // finishing on another thread just after it went asynchronous, made deterministic.
        int first = 0;
        int second = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>((e, ct) =>
            {
                Interlocked.Increment(ref first);
                return new ValueTask(new CompletesWhenObservedTwice(), 0);
            });
            b.Handle<Ping>(e => Interlocked.Increment(ref second));
        });

        await bus.PublishAsync(new Ping(1)).AsTask().WaitAsync(Patience);

        Assert.Equal(1, first);
        Assert.Equal(1, second);
        Assert.Equal(2, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task PublishAsync_PassesTheCallersTokenToTheHandlers()
    {
        using CancellationTokenSource cts = new();
        CancellationToken received = default;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>((e, ct) =>
        {
            received = ct;
            return default;
        }));

        await bus.PublishAsync(new Ping(1), cancellationToken: cts.Token);

        Assert.Equal(cts.Token, received);
    }

    [Fact]
    public async Task PublishBatchAsync_DeliversEveryEventToEachHandlerInTheOrderGiven()
    {
        List<object> batch = [];
        for (int i = 0; i < 100; i++)
        {
            batch.Add(i % 3 == 0 ? new Pong(i) : new Ping(i));
        }

        List<int> pings = [];
        List<int> all = [];
        List<int> asyncPings = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(e => pings.Add(e.N));
            b.Handle<object>(e => all.Add(e is Ping p ? p.N : ((Pong)e).N));
            b.Handle<Ping>(async (e, ct) =>
            {
                await Task.Yield();
                asyncPings.Add(e.N);
            });
        });

        await bus.PublishBatchAsync(batch);

        int[] expectedPings = [.. Enumerable.Range(0, 100).Where(i => i % 3 != 0)];
        Assert.Equal(expectedPings, pings);
        Assert.Equal(expectedPings, asyncPings);
        Assert.Equal(Enumerable.Range(0, 100), all);
        Assert.Equal(100, bus.GetStatistics().EventsPublished);
    }

    [Fact]
    public async Task PublishBatchAsync_InBackground_ReturnsBeforeHandlingAndKeepsOrderPerHandler()
    {
        const int count = 200;
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource syncDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource asyncDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ConcurrentQueue<int> syncSeen = new();
        ConcurrentQueue<int> asyncSeen = new();
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 4;
            b.Handle<Ping>(async (e, ct) =>
            {
                await gate.Task;
                await Task.Yield();
                asyncSeen.Enqueue(e.N);
                if (e.N == count - 1)
                {
                    asyncDone.SetResult();
                }
            });
            b.Handle<Ping>(e =>
            {
                syncSeen.Enqueue(e.N);
                if (e.N == count - 1)
                {
                    syncDone.SetResult();
                }
            });
        });
        await using (bus)
        {
            await bus.PublishBatchAsync([.. Enumerable.Range(0, count).Select(i => new Ping(i))], new PublishOptions { Background = true });

            // The first handler is still waiting on the gate: the call returned once the batch was queued.
            Assert.Empty(asyncSeen);
            gate.SetResult();
            await Task.WhenAll(syncDone.Task, asyncDone.Task).WaitAsync(Patience);

            Assert.Equal(Enumerable.Range(0, count), asyncSeen);
            Assert.Equal(Enumerable.Range(0, count), syncSeen);

            ShutdownReport report = await bus.ShutdownAsync(Patience);
            Assert.True(report.Completed);
            BusStatistics stats = bus.GetStatistics();
            Assert.Equal(count, stats.EventsPublished);
            Assert.Equal(2 * count, stats.HandlersInvoked);
            Assert.Equal(1, stats.BackgroundTasksCreated);
            Assert.Equal(1, stats.BackgroundTasksCompleted);
        }
    }

    [Fact]
    public async Task PublishAsync_InBackground_ReturnsBeforeTheHandlerRunsAndTheHandlerStillRuns()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<int> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(async (e, ct) =>
        {
            await gate.Task;
            handled.SetResult(e.N);
        }));
        await using (bus)
        {
            ValueTask publishing = bus.PublishAsync(new Ping(42), PublishOptions.InBackground);
            Assert.True(publishing.IsCompletedSuccessfully);
            await publishing;
            Assert.False(handled.Task.IsCompleted);

            gate.SetResult();
            Assert.Equal(42, await handled.Task.WaitAsync(Patience));

            ShutdownReport report = await bus.ShutdownAsync(Patience);
            Assert.True(report.Completed);
            BusStatistics stats = bus.GetStatistics();
            Assert.Equal(1, stats.BackgroundTasksCreated);
            Assert.Equal(1, stats.BackgroundTasksCompleted);
            Assert.Equal(1, stats.EventsPublished);
            Assert.Equal(1, stats.HandlersInvoked);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PublishBatchAsync_WithANullEvent_ThrowsArgumentExceptionAndPublishesNothing(bool background)
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(_ => Interlocked.Increment(ref handled)));
        object[] batch = [new Ping(1), null!, new Ping(3)];

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(
            async () => await bus.PublishBatchAsync(batch, new PublishOptions { Background = background }));

        Assert.Equal("events", error.ParamName);
        Assert.Contains("index 1", error.Message, StringComparison.Ordinal);
        ShutdownReport report = await bus.ShutdownAsync(Patience);
        Assert.True(report.Completed);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(0, handled);
        Assert.Equal(0, stats.EventsPublished);
        Assert.Equal(0, stats.BackgroundTasksCreated);
    }

    [Fact]
    public async Task PublishBatchAsync_WithAnEmptyBatch_PublishesNothing()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<object>(_ => handled++));

        await bus.PublishBatchAsync([]);

        Assert.Equal(0, handled);
        Assert.Equal(0, bus.GetStatistics().EventsPublished);
    }

    [Fact]
    public async Task PublishBatchAsync_CancelledWhileHandlingAnEvent_PublishesNoLaterEvent()
    {
        using CancellationTokenSource cts = new();
        List<int> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(e =>
        {
            seen.Add(e.N);
            if (e.N == 2)
            {
                cts.Cancel();
            }
        }));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await bus.PublishBatchAsync([new Ping(1), new Ping(2), new Ping(3), new Ping(4)], cancellationToken: cts.Token));

        Assert.Equal([1, 2], seen);
        Assert.Equal(2, bus.GetStatistics().EventsPublished);
    }

    [Fact]
    public async Task PublishBatchAsync_PublishesACollectionElementByElement_WhilePublishAsyncTreatsItAsOneEvent()
    {
        List<object> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<object>(e => seen.Add(e)));
        List<object> events = [new Ping(1), new Pong(2)];

        await bus.PublishBatchAsync(events);
        await bus.PublishAsync(events);

        Assert.Equal(3, seen.Count);
        Assert.Equal(new Ping(1), seen[0]);
        Assert.Equal(new Pong(2), seen[1]);
        Assert.Same(events, seen[2]);
    }

    /// <summary>An operation that reports itself pending on the first status check and completed afterwards.</summary>
    private sealed class CompletesWhenObservedTwice : System.Threading.Tasks.Sources.IValueTaskSource
    {
        private int _checks;

        public System.Threading.Tasks.Sources.ValueTaskSourceStatus GetStatus(short token)
            => Interlocked.Increment(ref _checks) == 1
                ? System.Threading.Tasks.Sources.ValueTaskSourceStatus.Pending
                : System.Threading.Tasks.Sources.ValueTaskSourceStatus.Succeeded;

        public void GetResult(short token)
        {
        }

        public void OnCompleted(Action<object?> continuation, object? state, short token, System.Threading.Tasks.Sources.ValueTaskSourceOnCompletedFlags flags)
            => ThreadPool.QueueUserWorkItem(continuation, state, preferLocal: false);
    }
}
