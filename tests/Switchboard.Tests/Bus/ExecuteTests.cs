using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Bus;

// Item 4 of issue 2 (seed 000): ExecuteAsync enqueues on the bus's transport, a worker runs the handler, and with Wait
// the result comes back through the response store.
public sealed class ExecuteTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record PlaceOrder(string OrderId, long AmountCents) : IRequest<OrderPlaced>;

    public sealed record OrderPlaced(string OrderId, string Status);

    public sealed record CountItems(int Items) : IRequest<int>;

    public sealed record RecordVisit(string Page);

    public sealed record Flaky(string Id);

    public sealed record Unregistered(int N);

    public sealed record Quote(string Sku) : IRequest<decimal>;

    public sealed class QuoteHandler : IHandler<Quote, decimal>
    {
        public async ValueTask<decimal> HandleAsync(Quote message, MessageContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return message.Sku.Length * 1.5m;
        }
    }

    [Fact]
    public async Task ExecuteAsync_WaitTrue_ReturnsTheHandlersResultThroughTheQueueAndResponseStore()
    {
        PlaceOrder? handled = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<PlaceOrder, OrderPlaced>(cmd =>
        {
            handled = cmd;
            return new OrderPlaced(cmd.OrderId, "placed");
        }));
        PlaceOrder command = new("ord-1", 1999);

        object? result = await bus.ExecuteAsync(command, new ExecuteOptions { Wait = true, Timeout = Patience });

        OrderPlaced placed = Assert.IsType<OrderPlaced>(result);
        Assert.Equal(new OrderPlaced("ord-1", "placed"), placed);

        // The worker read its own copy of the message from the queue: the path went through the transport.
        Assert.Equal(command, handled);
        Assert.NotSame(command, handled);
        BusStatistics stats = bus.GetStatistics();
        TransportStatistics transport = stats.Transports["inmemory"];
        Assert.Equal(1, transport.Sent);
        Assert.Equal(1, transport.Received);
        Assert.Equal(1, stats.RequestsSent);
    }

    [Fact]
    public async Task ExecuteAsync_WithoutOptions_WaitsForTheResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CountItems, int>(async (q, ct) =>
        {
            await Task.Yield();
            return q.Items * 10;
        }));

        object? result = await bus.ExecuteAsync(new CountItems(4)).AsTask().WaitAsync(Patience);

        Assert.Equal(40, Assert.IsType<int>(result));
    }

    [Fact]
    public async Task ExecuteAsync_ClassHandlerWithAResult_ReturnsTheResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandler<QuoteHandler>());

        object? result = await bus.ExecuteAsync(new Quote("abcd"), new ExecuteOptions { Timeout = Patience });

        Assert.Equal(6.0m, Assert.IsType<decimal>(result));
    }

    [Fact]
    public async Task ExecuteAsync_ManyAtOnce_EachGetsItsOwnResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CountItems, int>(async (q, ct) =>
        {
            await Task.Yield();
            return q.Items * 2;
        }));

        object?[] results = await Task.WhenAll(Enumerable.Range(0, 40)
            .Select(i => bus.ExecuteAsync(new CountItems(i), new ExecuteOptions { Timeout = Patience }).AsTask()));

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (object)(i * 2)), results);
    }

    [Fact]
    public async Task ExecuteAsync_WaitFalse_ReturnsNullAtOnceAndTheHandlerStillRuns()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<string> ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<PlaceOrder, OrderPlaced>(async (cmd, ct) =>
        {
            await gate.Task;
            ran.SetResult(cmd.OrderId);
            return new OrderPlaced(cmd.OrderId, "placed");
        }));

        object? result = await bus.ExecuteAsync(new PlaceOrder("ord-2", 5), new ExecuteOptions { Wait = false }).AsTask().WaitAsync(Patience);

        // The handler cannot have finished: it waits on the gate, so the call did not wait for it.
        Assert.Null(result);
        Assert.False(ran.Task.IsCompleted);
        gate.SetResult();
        Assert.Equal("ord-2", await ran.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task ExecuteAsync_WaitFalse_RunsEveryHandlerOfAnEvent()
    {
        TaskCompletionSource first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource second = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<RecordVisit>(_ => first.SetResult());
            b.Handle<RecordVisit>(async (_, ct) =>
            {
                await Task.Yield();
                second.SetResult();
            });
        });

        Assert.Null(await bus.ExecuteAsync(new RecordVisit("/home"), new ExecuteOptions { Wait = false }));

        await Task.WhenAll(first.Task, second.Task).WaitAsync(Patience);
    }

    [Fact]
    public async Task ExecuteAsync_WhenTheResultDoesNotArriveInTime_ThrowsTimeoutException()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<PlaceOrder, OrderPlaced>(async (cmd, ct) =>
        {
            started.TrySetResult();
            await gate.Task;
            return new OrderPlaced(cmd.OrderId, "late");
        }));

        try
        {
            TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(async () => await bus
                .ExecuteAsync(new PlaceOrder("ord-3", 1), new ExecuteOptions { Timeout = TimeSpan.FromMilliseconds(200) })
                .AsTask()
                .WaitAsync(Patience));

            Assert.Contains(nameof(PlaceOrder), error.Message, StringComparison.Ordinal);
            // The timeout ends the wait, not the work: the queued command still reaches its handler. (Asserting that it had
            // started within the 200 ms failed once on a loaded CI machine whose queue worker was not scheduled that soon.)
            await started.Task.WaitAsync(Patience);
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task ExecuteAsync_WhenTheHandlerFailsEveryAttempt_ThrowsHandlerFailedExceptionAndDeadLettersTheMessage()
    {
        InMemoryTransport transport = new();
        int attempts = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Retry.MaxAttempts = 2;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(1);
            b.UseTransport(transport);
            b.Handle<Flaky, string>(f =>
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("inventory service down");
            });
        });

        HandlerFailedException error = await Assert.ThrowsAsync<HandlerFailedException>(
            async () => await bus.ExecuteAsync(new Flaky("f-1"), new ExecuteOptions { Timeout = Patience }));

        Assert.Equal(typeof(InvalidOperationException).FullName, error.RemoteExceptionType);
        Assert.Contains("inventory service down", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, Volatile.Read(ref attempts));

        IDeadLetterQueue deadLetters = transport.GetDeadLetterQueue(bus.Name, bus.Name);
        Assert.Equal(1, await deadLetters.CountAsync());
        DeadLetterMessage dead = Assert.Single(await deadLetters.ListAsync());
        Assert.Equal(2, dead.Reason.Attempts);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Reason.ExceptionType);
        Assert.Equal(typeof(Flaky).FullName, dead.Message.GetHeader(MessageHeaders.MessageType));
        Assert.Equal(1, bus.GetStatistics().Transports["inmemory"].DeadLettered);
    }

    [Fact]
    public async Task ExecuteAsync_WhenTheHandlerSucceedsOnItsRetry_ReturnsTheResult()
    {
        int attempts = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Retry.MaxAttempts = 2;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(1);
            b.Handle<Flaky, string>(f => Interlocked.Increment(ref attempts) == 1 ? throw new InvalidOperationException("once") : "ok " + f.Id);
        });

        object? result = await bus.ExecuteAsync(new Flaky("f-2"), new ExecuteOptions { Timeout = Patience });

        Assert.Equal("ok f-2", result);
        Assert.Equal(2, Volatile.Read(ref attempts));
    }

    [Fact]
    public async Task ExecuteAsync_UnregisteredType_ThrowsNoHandlerExceptionAndSendsNothing()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<RecordVisit>(_ => { }));

        NoHandlerException error = await Assert.ThrowsAsync<NoHandlerException>(async () => await bus.ExecuteAsync(new Unregistered(1)));

        Assert.Contains(nameof(Unregistered), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, bus.GetStatistics().Transports["inmemory"].Sent);
    }

    [Fact]
    public async Task ExecuteAsync_MessageWhoseHandlerReturnsNothing_ReturnsNullAfterTheHandlerRan()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        bool handled = false;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<RecordVisit>(async (v, ct) =>
        {
            await gate.Task;
            handled = true;
        }));

        Task<object?> executing = bus.ExecuteAsync(new RecordVisit("/cart"), new ExecuteOptions { Timeout = Patience }).AsTask();
        Assert.False(executing.IsCompleted);
        gate.SetResult();

        Assert.Null(await executing.WaitAsync(Patience));
        Assert.True(handled);
    }
}
