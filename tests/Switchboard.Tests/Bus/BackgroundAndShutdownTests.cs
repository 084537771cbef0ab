namespace Switchboard.Tests.Bus;

public sealed record Job(int N);
public sealed record StopCommand(int N);
public sealed record StopQuestion(int N) : IRequest<int>;

public sealed class BackgroundAndShutdownTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    /// <summary>A handler that reports when it starts and finishes only when released.</summary>
    private sealed class Gate
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _finished;

        public Task Started => _started.Task;

        public int Finished => Volatile.Read(ref _finished);

        public async ValueTask HandleAsync(Job job, CancellationToken cancellationToken)
        {
            _started.TrySetResult();
            await _release.Task.ConfigureAwait(false);
            Interlocked.Increment(ref _finished);
        }

        public void Release() => _release.TrySetResult();
    }

    [Fact]
    public async Task A_background_publish_returns_once_queued_before_the_handler_has_finished()
    {
        Gate gate = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));

        await bus.PublishAsync(new Job(1), PublishOptions.InBackground).AsTask().WaitAsync(Patience);

        Assert.Equal(0, gate.Finished);
        BusStatistics queued = bus.GetStatistics();
        Assert.Equal(1, queued.BackgroundTasksCreated);
        Assert.Equal(0, queued.BackgroundTasksCompleted);
        await gate.Started.WaitAsync(Patience);

        gate.Release();
        ShutdownReport report = await bus.ShutdownAsync(Patience);

        Assert.True(report.Completed);
        Assert.Equal(1, gate.Finished);
        Assert.Equal(1, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Fact]
    public async Task Background_publishes_are_counted_when_queued_and_when_completed_failures_included()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(j =>
        {
            Interlocked.Increment(ref handled);
            if (j.N % 2 == 0)
            {
                throw new InvalidOperationException("even jobs fail");
            }
        }));

        for (int i = 1; i <= 6; i++)
        {
            await bus.PublishAsync(new Job(i), PublishOptions.InBackground);
        }

        await bus.PublishAsync(new Job(7), new PublishOptions { Background = true, HandlerErrors = HandlerErrorMode.Throw });
        await bus.PublishAsync(new Job(8), new PublishOptions { Background = true, HandlerErrors = HandlerErrorMode.Throw });
        ShutdownReport report = await bus.ShutdownAsync(Patience);

        BusStatistics stats = bus.GetStatistics();
        Assert.True(report.Completed);
        Assert.Equal(8, handled);
        Assert.Equal(8, stats.BackgroundTasksCreated);
        Assert.Equal(8, stats.BackgroundTasksCompleted);
        Assert.Equal(4, stats.HandlerErrors);
    }

    [Fact]
    public async Task A_background_batch_is_one_background_task_that_keeps_the_order()
    {
        List<int> seen = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 4;
            b.Handle<Job>(async (j, ct) =>
            {
                await Task.Yield();
                lock (seen)
                {
                    seen.Add(j.N);
                }
            });
        });

        await bus.PublishBatchAsync([.. Enumerable.Range(1, 20).Select(i => (object)new Job(i))], PublishOptions.InBackground);
        await bus.ShutdownAsync(Patience);

        Assert.Equal(Enumerable.Range(1, 20), seen);
        Assert.Equal(1, bus.GetStatistics().BackgroundTasksCreated);
        Assert.Equal(1, bus.GetStatistics().BackgroundTasksCompleted);
        Assert.Equal(20, bus.GetStatistics().EventsPublished);
    }

    [Fact]
    public async Task Background_publishes_run_on_as_many_workers_as_BackgroundConcurrency()
    {
        Gate first = new();
        Gate second = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 2;
            b.Handle<Job>((j, ct) => j.N == 1 ? first.HandleAsync(j, ct) : second.HandleAsync(j, ct));
        });

        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground);

        // Both run at once: neither finishes until released, yet both have started.
        await Task.WhenAll(first.Started, second.Started).WaitAsync(Patience);
        first.Release();
        second.Release();
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
    }

    [Fact]
    public async Task A_background_publish_waits_for_room_when_the_queue_is_full()
    {
        Gate gate = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Options.BackgroundQueueCapacity = 1;
            b.Handle<Job>((j, ct) => j.N == 1 ? gate.HandleAsync(j, ct) : default);
        });
        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await gate.Started.WaitAsync(Patience); // the only worker holds job 1
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground).AsTask().WaitAsync(Patience); // fills the queue

        Task third = bus.PublishAsync(new Job(3), PublishOptions.InBackground).AsTask();
        Assert.False(third.IsCompleted, "the queue holds one item, so a third publish must wait for room");

        gate.Release();
        await third.WaitAsync(Patience);
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
        Assert.Equal(3, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Fact]
    public async Task Publishers_waiting_for_room_in_a_tiny_queue_are_all_woken_and_every_event_runs_once()
    {
        // Publishers blocked on a full queue are woken together once it is down to half (not one slot at a time); with
        // eight publishers racing the workers on a queue of four, no wake-up may be lost and no event dropped or doubled.
        const int publishers = 8;
        const int perPublisher = 2_000;
        int[] seen = new int[publishers * perPublisher];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 2;
            b.Options.BackgroundQueueCapacity = 4;
            b.Handle<Job>(async (j, ct) =>
            {
                Interlocked.Increment(ref seen[j.N]);
                if (j.N % 64 == 0)
                {
                    await Task.Yield(); // now and then a handler goes asynchronous, so the queue fills and drains unevenly
                }
            });
        });

        await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
        {
            for (int i = 0; i < perPublisher; i++)
            {
                await bus.PublishAsync(new Job((p * perPublisher) + i), PublishOptions.InBackground);
            }
        }))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True((await bus.ShutdownAsync(TimeSpan.FromSeconds(60))).Completed);
        Assert.All(seen, count => Assert.Equal(1, count));
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal((publishers * perPublisher, publishers * perPublisher), (stats.BackgroundTasksCreated, stats.BackgroundTasksCompleted));
    }

    [Fact]
    public async Task A_publisher_waiting_for_room_when_shutdown_begins_is_not_left_hanging()
    {
        Gate gate = new();
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Options.BackgroundQueueCapacity = 1;
            b.Handle<Job>((j, ct) => j.N == 1 ? gate.HandleAsync(j, ct) : default);
        });
        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await gate.Started.WaitAsync(Patience);
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground);
        Task waiting = bus.PublishAsync(new Job(3), PublishOptions.InBackground).AsTask();
        Assert.False(waiting.IsCompleted);

        ValueTask<ShutdownReport> shutdown = bus.ShutdownAsync(Patience);
        gate.Release();
        await shutdown;

        // Either it got its room before the queue closed and ran, or it failed: it never waits forever.
        await Task.WhenAny(waiting, Task.Delay(Patience));
        Assert.True(waiting.IsCompleted, "a publisher waiting for room must be released when the bus shuts down");
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(stats.BackgroundTasksCreated, stats.BackgroundTasksCompleted);
    }

    [Fact]
    public async Task A_background_publish_cancelled_while_waiting_for_room_is_not_counted_as_created()
    {
        Gate gate = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Options.BackgroundQueueCapacity = 1;
            b.Handle<Job>((j, ct) => j.N == 1 ? gate.HandleAsync(j, ct) : default);
        });
        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await gate.Started.WaitAsync(Patience);
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground);
        using CancellationTokenSource cts = new();
        Task single = bus.PublishAsync(new Job(3), PublishOptions.InBackground, cts.Token).AsTask();
        Task batch = bus.PublishBatchAsync([new Job(4), new Job(5)], PublishOptions.InBackground, cts.Token).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => single.WaitAsync(Patience));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batch.WaitAsync(Patience));
        gate.Release();
        ShutdownReport report = await bus.ShutdownAsync(Patience);

        BusStatistics stats = bus.GetStatistics();
        Assert.True(report.Completed);
        Assert.Equal(2, stats.BackgroundTasksCreated);
        Assert.Equal(2, stats.BackgroundTasksCompleted);
    }

    [Fact]
    public async Task Cancelling_the_caller_token_after_a_background_publish_returned_does_not_cancel_the_handler()
    {
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<bool> tokenCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(async (j, ct) =>
        {
            await release.Task;
            tokenCancelled.TrySetResult(ct.IsCancellationRequested);
        }));
        using CancellationTokenSource caller = new();

        await bus.PublishAsync(new Job(1), PublishOptions.InBackground, caller.Token);
        await caller.CancelAsync();
        release.SetResult();

        Assert.False(await tokenCancelled.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task Background_publish_options_correlation_id_reaches_the_handler()
    {
        TaskCompletionSource<string> correlation = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>((j, context, ct) =>
        {
            correlation.TrySetResult(context.CorrelationId);
            return default;
        }));

        await bus.PublishAsync(new Job(1), new PublishOptions { Background = true, CorrelationId = "bg-corr" });

        Assert.Equal("bg-corr", await correlation.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task ShutdownAsync_drains_queued_background_work_before_it_reports_completed()
    {
        Gate gate = new();
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Handle<Job>(async (j, ct) =>
            {
                if (j.N == 1)
                {
                    await gate.HandleAsync(j, ct);
                }

                Interlocked.Increment(ref handled);
            });
        });
        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground);
        await bus.PublishAsync(new Job(3), PublishOptions.InBackground);
        await gate.Started.WaitAsync(Patience);

        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        Assert.False(shutdown.IsCompleted);
        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.PublishAsync(new Job(4), PublishOptions.InBackground));

        gate.Release();
        ShutdownReport report = await shutdown.WaitAsync(Patience);

        Assert.True(report.Completed);
        Assert.Equal(0, report.BackgroundAbandoned);
        Assert.Equal(0, report.InFlightAbandoned);
        Assert.Equal(3, handled);
        Assert.Equal(3, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Fact]
    public async Task ShutdownAsync_waits_for_in_flight_async_handlers()
    {
        Gate gate = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));
        Task publish = bus.PublishAsync(new Job(1)).AsTask();
        await gate.Started.WaitAsync(Patience);

        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        Assert.False(shutdown.IsCompleted);
        gate.Release();
        ShutdownReport report = await shutdown.WaitAsync(Patience);

        Assert.True(report.Completed);
        Assert.Equal(0, report.InFlightAbandoned);
        Assert.True(publish.IsCompletedSuccessfully);
        Assert.Equal(1, gate.Finished);
    }

    [Fact]
    public async Task ShutdownAsync_waits_for_an_in_flight_command_handler()
    {
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<StopCommand>(async (c, ct) =>
        {
            started.TrySetResult();
            await release.Task;
        }));
        Task send = bus.SendAsync(new StopCommand(1)).AsTask();
        await started.Task.WaitAsync(Patience);

        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        Assert.False(shutdown.IsCompleted);
        release.SetResult();

        Assert.True((await shutdown.WaitAsync(Patience)).Completed);
        Assert.True(send.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ShutdownAsync_reports_an_in_flight_handler_it_could_not_wait_for()
    {
        Gate gate = new();
        IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));
        Task publish = bus.PublishAsync(new Job(1)).AsTask();
        await gate.Started.WaitAsync(Patience);

        try
        {
            ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Patience);

            Assert.False(report.Completed);
            Assert.True(report.InFlightAbandoned > 0, $"InFlightAbandoned was {report.InFlightAbandoned}");
            Assert.Equal(0, report.BackgroundAbandoned);
            Assert.False(publish.IsCompleted);
        }
        finally
        {
            gate.Release();
        }

        await publish.WaitAsync(Patience);
    }

    [Fact]
    public async Task ShutdownAsync_reports_background_work_it_could_not_wait_for()
    {
        Gate gate = new();
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Handle<Job>((j, ct) => j.N == 1 ? gate.HandleAsync(j, ct) : default);
        });
        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        await bus.PublishAsync(new Job(2), PublishOptions.InBackground);
        await gate.Started.WaitAsync(Patience);

        try
        {
            ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Patience);

            Assert.False(report.Completed);
            Assert.Equal(2, report.BackgroundAbandoned);
        }
        finally
        {
            gate.Release();
        }
    }

    [Fact]
    public async Task ShutdownAsync_waits_for_a_handler_running_on_the_transport_worker()
    {
        Gate gate = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));
        await bus.ExecuteAsync(new Job(1), new ExecuteOptions { Wait = false });
        await gate.Started.WaitAsync(Patience);

        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        Assert.False(shutdown.IsCompleted);
        gate.Release();

        ShutdownReport report = await shutdown.WaitAsync(Patience);
        Assert.True(report.Completed);
        Assert.Equal(1, gate.Finished);
        Assert.Equal(1, bus.GetStatistics().Transports["inmemory"].Acknowledged);
    }

    [Fact]
    public async Task ShutdownAsync_reports_a_transport_worker_handler_that_ignores_cancellation_instead_of_waiting_for_it()
    {
        Gate gate = new();
        IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));
        await bus.ExecuteAsync(new Job(1), new ExecuteOptions { Wait = false });
        await gate.Started.WaitAsync(Patience);

        try
        {
            ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Patience);

            Assert.False(report.Completed);
            Assert.True(report.InFlightAbandoned > 0, $"InFlightAbandoned was {report.InFlightAbandoned}");
        }
        finally
        {
            gate.Release();
        }
    }

    [Fact]
    public async Task ShutdownAsync_twice_returns_the_same_report()
    {
        IMessageBus bus = MessageBus.Create(_ => { });

        ValueTask<ShutdownReport> first = bus.ShutdownAsync(Patience);
        ValueTask<ShutdownReport> concurrent = bus.ShutdownAsync(Patience);
        ShutdownReport a = await first;
        ShutdownReport b = await concurrent;
        ShutdownReport c = await bus.ShutdownAsync(TimeSpan.FromSeconds(1));

        Assert.True(a.Completed);
        Assert.Same(a, b);
        Assert.Same(a, c);
    }

    [Fact]
    public async Task A_negative_shutdown_timeout_is_rejected()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.Throws<ArgumentOutOfRangeException>(() => bus.ShutdownAsync(TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public async Task DisposeAsync_shuts_the_bus_down_after_draining_in_flight_work()
    {
        Gate gate = new();
        IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(gate.HandleAsync));
        Task publish = bus.PublishAsync(new Job(1)).AsTask();
        await gate.Started.WaitAsync(Patience);

        Task dispose = bus.DisposeAsync().AsTask();
        Assert.False(dispose.IsCompleted);
        gate.Release();
        await dispose.WaitAsync(Patience);

        Assert.True(publish.IsCompletedSuccessfully);
        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.PublishAsync(new Job(2)));
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
    }

    [Fact]
    public async Task Statistics_can_still_be_read_after_shutdown()
    {
        IMessageBus bus = MessageBus.Create(b => b.Handle<Job>(_ => { }));
        await bus.PublishAsync(new Job(1));
        await bus.ShutdownAsync(Patience);

        Assert.Equal(1, bus.GetStatistics().EventsPublished);
    }

    public static TheoryData<string> EntryPoints =>
    [
        "PublishAsync", "PublishAsync in the background", "PublishBatchAsync", "PublishBatchAsync in the background", "PublishAsync topic",
        "SendAsync", "RequestAsync", "ExecuteAsync", "ExecuteAsync without waiting", "SendBatchAsync",
        "Subscribe action", "Subscribe async", "Subscribe object handler", "Subscribe topic action", "Subscribe topic async",
        "SubscribeAll", "SubscribeToAll", "Stream", "CreateScope",
    ];

    [Theory]
    [MemberData(nameof(EntryPoints))]
    public async Task After_shutdown_every_entry_point_throws_BusStoppedException(string entryPoint)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Job>(_ => { });
            b.Handle<StopCommand>(_ => { });
            b.Handle<StopQuestion, int>(q => q.N);
        });
        await bus.ShutdownAsync(Patience);

        Func<Task> call = entryPoint switch
        {
            "PublishAsync" => async () => await bus.PublishAsync(new Job(1)),
            "PublishAsync in the background" => async () => await bus.PublishAsync(new Job(1), PublishOptions.InBackground),
            "PublishBatchAsync" => async () => await bus.PublishBatchAsync([new Job(1)]),
            "PublishBatchAsync in the background" => async () => await bus.PublishBatchAsync([new Job(1)], PublishOptions.InBackground),
            "PublishAsync topic" => async () => await bus.PublishAsync("jobs/created", new Job(1)),
            "SendAsync" => async () => await bus.SendAsync(new StopCommand(1)),
            "RequestAsync" => async () => await bus.RequestAsync(new StopQuestion(1)),
            "ExecuteAsync" => async () => await bus.ExecuteAsync(new StopQuestion(1)),
            "ExecuteAsync without waiting" => async () => await bus.ExecuteAsync(new StopCommand(1), new ExecuteOptions { Wait = false }),
            "SendBatchAsync" => async () => await bus.SendBatchAsync([new StopCommand(1)]),
            "Subscribe action" => () => Task.FromResult(bus.Subscribe<Job>(_ => { })),
            "Subscribe async" => () => Task.FromResult(bus.Subscribe<Job>((_, _) => default)),
            "Subscribe object handler" => () => Task.FromResult(bus.Subscribe<Job>(new NoopHandler())),
            "Subscribe topic action" => () => Task.FromResult(bus.Subscribe("jobs/#", (TopicMessage _) => { })),
            "Subscribe topic async" => () => Task.FromResult(bus.Subscribe("jobs/#", (_, _) => default)),
            "SubscribeAll" => () => Task.FromResult(bus.SubscribeAll(new JobProjection())),
            "SubscribeToAll" => () => Task.FromResult(bus.SubscribeToAll((_, _) => default)),
            "Stream" => () => Task.FromResult(bus.Stream<Job>()),
            "CreateScope" => () => Task.FromResult(bus.CreateScope("late")),
            _ => throw new ArgumentOutOfRangeException(nameof(entryPoint)),
        };

        BusStoppedException error = await Assert.ThrowsAsync<BusStoppedException>(call);
        Assert.Contains(bus.Name, error.Message, StringComparison.Ordinal);
    }

    private sealed class NoopHandler : IHandler<Job>
    {
        public ValueTask HandleAsync(Job message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    private sealed class JobProjection : IProjection
    {
        public IReadOnlyCollection<Type> SubscribedTo { get; } = [typeof(Job)];

        public ValueTask HandleAsync(object @event, CancellationToken cancellationToken) => default;
    }
}
