namespace Switchboard.Tests.Bus;

/// <summary>
/// The background queue's dispatcher runs quick items itself, hands off asynchronous ones and lets helpers in when a
/// handler blocks its thread: what that must never change (parallelism, the limit, draining at shutdown).
/// </summary>
public sealed class BackgroundDispatcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Handlers_that_block_their_thread_still_run_side_by_side_up_to_BackgroundConcurrency()
    {
        // Three handlers that block synchronously (no await): with one reader running items inline, the second and the
        // third would wait for the first forever; the helpers must take them.
        using ManualResetEventSlim release = new();
        using CountdownEvent started = new(3);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 3;
            b.Handle<Job>(_ =>
            {
                started.Signal();
                release.Wait(Patience);
            });
        });

        for (int i = 1; i <= 3; i++)
        {
            await bus.PublishAsync(new Job(i), PublishOptions.InBackground);
        }

        bool allStarted = await Task.Run(() => started.Wait(Patience));
        release.Set();
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
        Assert.True(allStarted, "three blocking handlers must all be running at once with BackgroundConcurrency = 3");
        Assert.Equal(3, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Fact]
    public async Task Items_queued_behind_a_blocked_handler_run_while_it_blocks()
    {
        using ManualResetEventSlim release = new();
        using CountdownEvent others = new(50);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 2;
            b.Handle<Job>(j =>
            {
                if (j.N == 0)
                {
                    release.Wait(Patience);
                }
                else
                {
                    others.Signal();
                }
            });
        });

        await bus.PublishAsync(new Job(0), PublishOptions.InBackground);
        for (int i = 1; i <= 50; i++)
        {
            await bus.PublishAsync(new Job(i), PublishOptions.InBackground);
        }

        bool ranWhileBlocked = await Task.Run(() => others.Wait(Patience));
        release.Set();
        Assert.True(ranWhileBlocked, "the 50 quick events must run while the first handler blocks its thread");
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
        Assert.Equal(51, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task No_more_than_BackgroundConcurrency_items_run_at_once_and_every_item_runs_once(int concurrency)
    {
        const int count = 2_000;
        int running = 0;
        int most = 0;
        int[] seen = new int[count];
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = concurrency;
            b.Options.BackgroundQueueCapacity = 64;
            b.Handle<Job>(async (j, ct) =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                Interlocked.Increment(ref seen[j.N]);
                if (j.N % 3 == 0)
                {
                    await Task.Yield(); // a third go asynchronous (handed off), the rest complete at once
                }
                else if (j.N % 97 == 0)
                {
                    Thread.Sleep(7); // now and then one blocks its thread for longer than the watchdog's tick
                }

                Interlocked.Decrement(ref running);
            });
        });

        for (int i = 0; i < count; i++)
        {
            await bus.PublishAsync(new Job(i), PublishOptions.InBackground);
        }

        Assert.True((await bus.ShutdownAsync(TimeSpan.FromSeconds(60))).Completed);
        Assert.All(seen, n => Assert.Equal(1, n));
        Assert.InRange(most, 1, concurrency);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal((count, count), (stats.BackgroundTasksCreated, stats.BackgroundTasksCompleted));
    }

    [Fact]
    public async Task Shutdown_waits_for_items_handed_off_and_for_the_queue_behind_them()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int done = 0;
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 2;
            b.Handle<Job>(async (j, ct) =>
            {
                if (j.N < 2)
                {
                    await gate.Task; // both slots taken by items handed off
                }

                Interlocked.Increment(ref done);
            });
        });
        for (int i = 0; i < 10; i++)
        {
            await bus.PublishAsync(new Job(i), PublishOptions.InBackground);
        }

        ValueTask<ShutdownReport> shutdown = bus.ShutdownAsync(Patience);
        Assert.False(shutdown.IsCompleted, "two items are still running");
        gate.SetResult();
        Assert.True((await shutdown).Completed);
        Assert.Equal(10, Volatile.Read(ref done));
        Assert.Equal(10, bus.GetStatistics().BackgroundTasksCompleted);
    }

    [Fact]
    public async Task A_handler_blocking_the_dispatcher_leaves_the_queue_room_to_publishers()
    {
        // The dispatcher gives the places it took back in batches; while a handler blocks it, a small queue must still
        // show its room (capacity 1: the next publish fits at once).
        using ManualResetEventSlim release = new();
        using ManualResetEventSlim started = new();
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.BackgroundConcurrency = 1;
            b.Options.BackgroundQueueCapacity = 1;
            b.Handle<Job>(j =>
            {
                if (j.N == 1)
                {
                    started.Set();
                    release.Wait(Patience);
                }
            });
        });

        await bus.PublishAsync(new Job(1), PublishOptions.InBackground);
        Assert.True(await Task.Run(() => started.Wait(Patience)));
        Task second = bus.PublishAsync(new Job(2), PublishOptions.InBackground).AsTask();
        bool queued = await Task.WhenAny(second, Task.Delay(Patience)) == second;
        release.Set();
        Assert.True(queued, "the queue is empty while job 1 runs, so job 2 must be queued at once");
        Assert.True((await bus.ShutdownAsync(Patience)).Completed);
        Assert.Equal(2, bus.GetStatistics().BackgroundTasksCompleted);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current = Volatile.Read(ref target);
        while (value > current)
        {
            int seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
