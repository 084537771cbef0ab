namespace Switchboard.Tests.Bus;

// "Bad input" of issue 2: null messages and handlers give ArgumentNullException (or ArgumentException), use after
// shutdown gives BusStoppedException, and a cancelled token gives OperationCanceledException with no handler invoked.
public sealed class BadInputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record Ping(int N);

    public sealed record Ask(int N) : IRequest<int>;

    public sealed class PingHandler : IHandler<Ping>
    {
        public ValueTask HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    public sealed class Projection : IProjection
    {
        public IReadOnlyCollection<Type> SubscribedTo { get; } = [typeof(Ping)];

        public ValueTask HandleAsync(object @event, CancellationToken cancellationToken) => default;
    }

    /// <summary>Every call on the bus that takes a message, a handler or a pattern, made with a null one.</summary>
    private static readonly Dictionary<string, Func<IMessageBus, Task>> s_nullArguments = new()
    {
        ["PublishAsync(null event)"] = async bus => await bus.PublishAsync<Ping>(null!),
        ["PublishAsync(null object event)"] = async bus => await bus.PublishAsync<object>(null!),
        ["PublishAsync(null event, background)"] = async bus => await bus.PublishAsync<Ping>(null!, PublishOptions.InBackground),
        ["PublishBatchAsync(null)"] = async bus => await bus.PublishBatchAsync(null!),
        ["PublishAsync(null topic)"] = async bus => await bus.PublishAsync(null!, new object()),
        ["PublishAsync(topic, null payload)"] = async bus => await bus.PublishAsync("orders/created", (object)null!),
        ["SendAsync(null)"] = async bus => await bus.SendAsync<Ping>(null!),
        ["SendBatchAsync(null)"] = async bus => await bus.SendBatchAsync(null!),
        ["RequestAsync(null)"] = async bus => await bus.RequestAsync((IRequest<int>)null!),
        ["ExecuteAsync(null)"] = async bus => await bus.ExecuteAsync(null!),
        ["Subscribe(null Action)"] = bus => Task.FromResult(bus.Subscribe((Action<Ping>)null!)),
        ["Subscribe(null Func)"] = bus => Task.FromResult(bus.Subscribe((Func<Ping, CancellationToken, ValueTask>)null!)),
        ["Subscribe(null IHandler)"] = bus => Task.FromResult(bus.Subscribe((IHandler<Ping>)null!)),
        ["Subscribe(null pattern, Action)"] = bus => Task.FromResult(bus.Subscribe(null!, (TopicMessage _) => { })),
        ["Subscribe(null pattern, Func)"] = bus => Task.FromResult(bus.Subscribe(null!, (TopicMessage _, CancellationToken _) => default)),
        ["Subscribe(pattern, null Action)"] = bus => Task.FromResult(bus.Subscribe("a/*", (Action<TopicMessage>)null!)),
        ["Subscribe(pattern, null Func)"] = bus => Task.FromResult(bus.Subscribe("a/*", (Func<TopicMessage, CancellationToken, ValueTask>)null!)),
        ["SubscribeAll(null)"] = bus => Task.FromResult(bus.SubscribeAll(null!)),
        ["SubscribeToAll(null)"] = bus => Task.FromResult(bus.SubscribeToAll(null!)),
        ["CreateScope(null)"] = bus => Task.FromResult(bus.CreateScope(null!)),
    };

    /// <summary>Every call that must refuse once the bus is shut down.</summary>
    private static readonly Dictionary<string, Func<IMessageBus, Task>> s_afterShutdown = new()
    {
        ["PublishAsync"] = async bus => await bus.PublishAsync(new Ping(1)),
        ["PublishAsync(background)"] = async bus => await bus.PublishAsync(new Ping(1), PublishOptions.InBackground),
        ["PublishAsync(options)"] = async bus => await bus.PublishAsync(new Ping(1), new PublishOptions { CorrelationId = "c" }),
        ["PublishBatchAsync"] = async bus => await bus.PublishBatchAsync([new Ping(1)]),
        ["PublishBatchAsync(background)"] = async bus => await bus.PublishBatchAsync([new Ping(1)], PublishOptions.InBackground),
        ["PublishAsync(topic)"] = async bus => await bus.PublishAsync("orders/created", new { Id = 1 }),
        ["SendAsync"] = async bus => await bus.SendAsync(new Ping(1)),
        ["SendBatchAsync"] = async bus => await bus.SendBatchAsync([new Ping(1)]),
        ["RequestAsync"] = async bus => await bus.RequestAsync(new Ask(1)),
        ["RequestAsync(options)"] = async bus => await bus.RequestAsync(new Ask(1), new RequestOptions { Timeout = Patience }),
        ["ExecuteAsync"] = async bus => await bus.ExecuteAsync(new Ask(1), new ExecuteOptions { Timeout = Patience }),
        ["ExecuteAsync(no wait)"] = async bus => await bus.ExecuteAsync(new Ping(1), new ExecuteOptions { Wait = false }),
        ["Subscribe(Action)"] = bus => Task.FromResult(bus.Subscribe<Ping>(_ => { })),
        ["Subscribe(Func)"] = bus => Task.FromResult(bus.Subscribe<Ping>((_, _) => default)),
        ["Subscribe(IHandler)"] = bus => Task.FromResult(bus.Subscribe(new PingHandler())),
        ["Subscribe(pattern, Action)"] = bus => Task.FromResult(bus.Subscribe("orders/*", (TopicMessage _) => { })),
        ["Subscribe(pattern, Func)"] = bus => Task.FromResult(bus.Subscribe("orders/*", (TopicMessage _, CancellationToken _) => default)),
        ["SubscribeAll"] = bus => Task.FromResult(bus.SubscribeAll(new Projection())),
        ["SubscribeToAll"] = bus => Task.FromResult(bus.SubscribeToAll((_, _) => default)),
        ["Stream"] = bus => Task.FromResult(bus.Stream<Ping>()),
        ["CreateScope"] = bus => Task.FromResult(bus.CreateScope("late")),
    };

    /// <summary>Every call that takes a cancellation token, made with a cancelled one.</summary>
    private static readonly Dictionary<string, Func<IMessageBus, CancellationToken, Task>> s_cancelled = new()
    {
        ["PublishAsync"] = async (bus, ct) => await bus.PublishAsync(new Ping(1), cancellationToken: ct),
        ["PublishAsync(background)"] = async (bus, ct) => await bus.PublishAsync(new Ping(1), PublishOptions.InBackground, ct),
        ["PublishAsync(options)"] = async (bus, ct) => await bus.PublishAsync(new Ping(1), new PublishOptions { CorrelationId = "c" }, ct),
        ["PublishBatchAsync"] = async (bus, ct) => await bus.PublishBatchAsync([new Ping(1), new Ping(2)], cancellationToken: ct),
        ["PublishBatchAsync(background)"] = async (bus, ct) => await bus.PublishBatchAsync([new Ping(1)], PublishOptions.InBackground, ct),
        ["PublishAsync(topic)"] = async (bus, ct) => await bus.PublishAsync("orders/created", new { Id = 1 }, ct),
        ["SendAsync"] = async (bus, ct) => await bus.SendAsync(new Ping(1), ct),
        ["SendBatchAsync"] = async (bus, ct) => await bus.SendBatchAsync([new Ping(1), new Ask(2)], ct),
        ["RequestAsync"] = async (bus, ct) => await bus.RequestAsync(new Ask(1), cancellationToken: ct),
        ["RequestAsync(options)"] = async (bus, ct) => await bus.RequestAsync(new Ask(1), new RequestOptions { Timeout = Patience }, ct),
    };

    public static TheoryData<string> NullArguments => [.. s_nullArguments.Keys];

    public static TheoryData<string> AfterShutdown => [.. s_afterShutdown.Keys];

    public static TheoryData<string> Cancelled => [.. s_cancelled.Keys];

    [Theory]
    [MemberData(nameof(NullArguments))]
    public async Task NullArgument_ThrowsArgumentNullExceptionAndInvokesNothing(string call)
    {
        int invoked = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<object>(_ => invoked++));

        await Assert.ThrowsAsync<ArgumentNullException>(() => s_nullArguments[call](bus));

        Assert.Equal(0, invoked);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(0, stats.EventsPublished);
        Assert.Equal(0, stats.HandlersInvoked);
    }

    [Fact]
    public void Create_WithANullConfiguration_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => MessageBus.Create(null!));
    }

    [Fact]
    public void Builder_NullHandlersAndServices_ThrowArgumentNullException()
    {
        List<Action<BusBuilder>> registrations =
        [
            b => b.Handle((Action<Ping>)null!),
            b => b.Handle((Func<Ping, ValueTask>)null!),
            b => b.Handle((Func<Ping, CancellationToken, ValueTask>)null!),
            b => b.Handle((Func<Ping, MessageContext, CancellationToken, ValueTask>)null!),
            b => b.Handle((Func<Ask, int>)null!),
            b => b.Handle((Func<Ask, CancellationToken, ValueTask<int>>)null!),
            b => b.Handle((Func<Ask, MessageContext, CancellationToken, ValueTask<int>>)null!),
            b => b.AddHandler((Type)null!),
            b => b.AddHandler((PingHandler)null!),
            b => b.AddHandlersFromAssembly(null!),
            b => b.AddMessageType(null!),
            b => b.Configure(null!),
            b => b.UseTransport(null!),
            b => b.UseResponseStore(null!),
            b => b.UseSerializer(null!),
            b => b.UseLoggerFactory(null!),
            b => b.UseTimeProvider(null!),
        ];

        for (int i = 0; i < registrations.Count; i++)
        {
            Action<BusBuilder> register = registrations[i];
            Exception? error = Record.Exception(() => MessageBus.Create(register));
            Assert.True(error is ArgumentNullException, $"registration #{i} threw {error?.GetType().Name ?? "nothing"}");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public async Task CreateScope_WithAnEmptyName_ThrowsArgumentException(string name)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.Throws<ArgumentException>(() => bus.CreateScope(name));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task RequestAsync_WithANonPositiveTimeout_ThrowsArgumentOutOfRangeExceptionAndInvokesNothing(int milliseconds)
    {
        int invoked = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ask, int>(a => ++invoked));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await bus.RequestAsync(new Ask(1), new RequestOptions { Timeout = TimeSpan.FromMilliseconds(milliseconds) }));

        Assert.Equal(0, invoked);
    }

    [Theory]
    [MemberData(nameof(AfterShutdown))]
    public async Task AfterShutdownAsync_Call_ThrowsBusStoppedExceptionAndInvokesNothing(string call)
    {
        int invoked = 0;
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(_ => Interlocked.Increment(ref invoked));
            b.Handle<Ask, int>(a => Interlocked.Increment(ref invoked));
        });
        ShutdownReport report = await bus.ShutdownAsync(Patience);
        Assert.True(report.Completed);

        BusStoppedException error = await Assert.ThrowsAsync<BusStoppedException>(() => s_afterShutdown[call](bus));

        Assert.Contains(bus.Name, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref invoked));
        await bus.DisposeAsync();
    }

    [Fact]
    public async Task AfterDisposeAsync_Publish_ThrowsBusStoppedException()
    {
        IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>(_ => { }));

        await bus.DisposeAsync();

        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.PublishAsync(new Ping(1)));
        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.SendAsync(new Ping(1)));
    }

    [Fact]
    public async Task ShutdownAsync_Twice_ReturnsTheSameReport()
    {
        IMessageBus bus = MessageBus.Create(_ => { });

        ShutdownReport first = await bus.ShutdownAsync(Patience);
        ShutdownReport second = await bus.ShutdownAsync(Patience);

        Assert.Same(first, second);
    }

    [Theory]
    [MemberData(nameof(Cancelled))]
    public async Task CancelledToken_ThrowsOperationCanceledExceptionAndInvokesNoHandler(string call)
    {
        int invoked = 0;
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>(_ => Interlocked.Increment(ref invoked));
            b.Handle<Ask, int>(a => Interlocked.Increment(ref invoked));
        });
        using Subscription topic = bus.Subscribe("orders/#", (TopicMessage _) => Interlocked.Increment(ref invoked));
        using CancellationTokenSource cts = new();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s_cancelled[call](bus, cts.Token));

        // Drain anything that might have been queued in the background before looking.
        ShutdownReport report = await bus.ShutdownAsync(Patience);
        Assert.True(report.Completed);
        Assert.Equal(0, Volatile.Read(ref invoked));
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(0, stats.EventsPublished);
        Assert.Equal(0, stats.HandlersInvoked);
        Assert.Equal(0, stats.BackgroundTasksCreated);
        await bus.DisposeAsync();
    }

    [Fact]
    public async Task ExecuteAsync_WithACancelledToken_ThrowsOperationCanceledExceptionAndSendsNothing()
    {
        int invoked = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ask, int>(a => Interlocked.Increment(ref invoked)));
        using CancellationTokenSource cts = new();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await bus.ExecuteAsync(new Ask(1), cancellationToken: cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await bus.ExecuteAsync(new Ask(1), new ExecuteOptions { Wait = false }, cts.Token));

        Assert.Equal(0, bus.GetStatistics().Transports["inmemory"].Sent);
        Assert.Equal(0, Volatile.Read(ref invoked));
    }

    [Fact]
    public async Task ExecuteAsync_CancelledWhileWaiting_ThrowsOperationCanceledException()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ask, int>(async (a, ct) =>
        {
            started.TrySetResult();
            await gate.Task;
            return a.N;
        }));
        using CancellationTokenSource cts = new();

        try
        {
            Task<object?> executing = bus.ExecuteAsync(new Ask(1), new ExecuteOptions { Timeout = TimeSpan.FromMinutes(1) }, cts.Token).AsTask();
            await started.Task.WaitAsync(Patience);
            await cts.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => executing.WaitAsync(Patience));
        }
        finally
        {
            gate.TrySetResult();
        }
    }
}
