namespace Switchboard.Tests.Pipeline;

public sealed record LpEvent(int N);
public sealed record LpCommand(int N);
public sealed record LpQuery(int N) : IRequest<int>;
public sealed record LpFollowUp(int N);

/// <summary>
/// A message whose one handler is behind incoming middleware takes the lean path straight from the route table: these
/// hold what it must keep doing exactly as the full dispatch does (counting, failures, cascades, the context).
/// </summary>
public sealed class LeanPipelinePathTests
{
    [Fact]
    public async Task Publish_send_and_request_through_middleware_are_counted_once_each()
    {
        int seen = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                Interlocked.Increment(ref seen);
                return next(context);
            })
            .Handle<LpEvent>(static _ => { })
            .Handle<LpCommand>(static _ => { })
            .Handle<LpQuery, int>(static q => q.N * 2));

        for (int i = 0; i < 3; i++)
        {
            await bus.PublishAsync(new LpEvent(i));
            await bus.SendAsync(new LpCommand(i));
            Assert.Equal(i * 2, await bus.RequestAsync(new LpQuery(i)));
        }

        BusStatistics statistics = bus.GetStatistics();
        Assert.Equal(9, seen);
        Assert.Equal(3, statistics.EventsPublished);
        Assert.Equal(3, statistics.CommandsSent);
        Assert.Equal(3, statistics.RequestsSent);
        Assert.Equal(9, statistics.HandlersInvoked);
        Assert.Equal(0, statistics.HandlerErrors);
    }

    [Fact]
    public async Task A_failing_handler_behind_middleware_reaches_the_sender_and_is_counted()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(static (context, next) => next(context))
            .Handle<LpCommand>(static c => throw new InvalidOperationException($"refused {c.N}"))
            .Handle<LpQuery, int>(static q => throw new InvalidOperationException($"no answer for {q.N}")));

        InvalidOperationException send = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.SendAsync(new LpCommand(7)).AsTask());
        InvalidOperationException request = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.RequestAsync(new LpQuery(8)).AsTask());

        Assert.Equal("refused 7", send.Message);
        Assert.Equal("no answer for 8", request.Message);
        Assert.Equal(2, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task The_middleware_sees_the_message_its_handler_and_the_context_the_handler_gets()
    {
        List<string> seen = [];
        MessageContext? middlewareContext = null;
        MessageContext? handlerContext = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                seen.Add($"{context.MessageType.Name} {context.ResultType?.Name ?? "-"} {context.HandlerName.Length > 0}");
                middlewareContext = context.MessageContext;
                return next(context);
            })
            .Handle<LpQuery, int>((q, context, _) =>
            {
                handlerContext = context;
                return ValueTask.FromResult(q.N + 1);
            }));

        Assert.Equal(5, await bus.RequestAsync(new LpQuery(4)));

        Assert.Equal(["LpQuery Int32 True"], seen);
        Assert.NotNull(middlewareContext);
        Assert.Same(middlewareContext, handlerContext);
    }

    [Fact]
    public async Task A_cascade_from_a_handler_behind_middleware_is_dispatched_after_it()
    {
        TaskCompletionSource<int> followed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(static (context, next) => next(context))
            .Handle<LpCommand>(static async (c, context, cancellationToken) => await context.PublishAsync(new LpFollowUp(c.N), cancellationToken))
            .Handle<LpFollowUp>(f => followed.TrySetResult(f.N)));

        await bus.SendAsync(new LpCommand(3));

        Assert.Equal(3, await followed.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
