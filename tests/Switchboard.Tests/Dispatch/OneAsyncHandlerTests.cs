namespace Switchboard.Tests.Dispatch;

// A publish whose one handler completes asynchronously finishes in its own small state machine (not the loop over a
// route's handlers): the same outcomes as the loop, each checked here with exactly one handler.
public sealed class OneAsyncHandlerTests
{
    public sealed record Ticket(int N);

    [Fact]
    public async Task An_asynchronous_failure_is_isolated_and_counted_by_default()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ticket>(async (_, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("late failure");
        }));

        await bus.PublishAsync(new Ticket(1));

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.EventsPublished);
        Assert.Equal(1, stats.HandlersInvoked);
        Assert.Equal(1, stats.HandlerErrors);
    }

    [Fact]
    public async Task An_asynchronous_failure_is_thrown_as_an_aggregate_in_throw_mode()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = HandlerErrorMode.Throw;
            b.Handle<Ticket>(async (t, _) =>
            {
                await Task.Yield();
                throw new InvalidOperationException($"ticket {t.N} refused");
            });
        });

        AggregateException error = await Assert.ThrowsAsync<AggregateException>(async () => await bus.PublishAsync(new Ticket(7)));

        Exception inner = Assert.Single(error.InnerExceptions);
        Assert.Equal("ticket 7 refused", inner.Message);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task The_callers_cancellation_passes_through_and_is_not_a_handler_error()
    {
        using CancellationTokenSource cancel = new();
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ticket>(async (_, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }));

        ValueTask publish = bus.PublishAsync(new Ticket(1), cancellationToken: cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await publish);
        Assert.Equal(0, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task A_successful_asynchronous_handler_completes_the_publish_after_it_ran()
    {
        int done = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ticket>(async (_, _) =>
        {
            await Task.Yield();
            Interlocked.Increment(ref done);
        }));

        for (int i = 0; i < 100; i++)
        {
            await bus.PublishAsync(new Ticket(i));
            Assert.Equal(i + 1, Volatile.Read(ref done));
        }

        Assert.Equal(100, bus.GetStatistics().HandlersInvoked);
        Assert.Equal(0, bus.GetStatistics().HandlerErrors);
    }
}
