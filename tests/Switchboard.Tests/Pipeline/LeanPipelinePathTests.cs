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

    [Fact]
    public async Task Items_a_middleware_sets_reach_the_handler_and_never_the_next_message()
    {
        List<string> handled = [];
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(static (context, next) =>
            {
                if (context.Message is LpCommand { N: 1 })
                {
                    context.MessageContext.Items["tenant"] = "acme";
                }

                return next(context);
            })
            .Handle<LpCommand>((c, context, _) =>
            {
                handled.Add($"{c.N}:{(context.Items.TryGetValue("tenant", out object? tenant) ? tenant : "none")}");
                return ValueTask.CompletedTask;
            }));

        await bus.SendAsync(new LpCommand(1));
        await bus.SendAsync(new LpCommand(2));

        Assert.Equal(["1:acme", "2:none"], handled);
    }

    [Fact]
    public async Task A_middleware_reading_the_context_of_a_handler_without_one_sees_a_fresh_context_per_message()
    {
        List<string> ids = [];
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                ids.Add(context.MessageContext.MessageId);
                Assert.Same(context.Message, context.MessageContext.Message);
                Assert.Empty(context.MessageContext.Headers);
                return next(context);
            })
            .Handle<LpEvent>(static _ => { }));

        await bus.PublishAsync(new LpEvent(1));
        await bus.PublishAsync(new LpEvent(2));

        Assert.Equal(2, ids.Count);
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Fact]
    public async Task An_asynchronous_middleware_and_a_cascading_handler_finish_on_the_slow_path()
    {
        TaskCompletionSource<int> followed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(static async (context, next) =>
            {
                await Task.Yield();
                context.MessageContext.Items["seen"] = true;
                await next(context);
            })
            .Handle<LpQuery, int>(static async (q, context, cancellationToken) =>
            {
                await context.PublishAsync(new LpFollowUp(q.N), cancellationToken);
                return context.Items.ContainsKey("seen") ? q.N * 10 : -1;
            })
            .Handle<LpFollowUp>(f => followed.TrySetResult(f.N)));

        Assert.Equal(40, await bus.RequestAsync(new LpQuery(4)));
        Assert.Equal(4, await followed.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(7, await bus.RequestAsync(new LpQuery(7)) / 10);
    }

    [Fact]
    public async Task A_handler_behind_middleware_that_sends_through_middleware_in_turn_gets_both_results()
    {
        List<string> order = [];
        IMessageBus? inner = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                order.Add($"in {context.MessageType.Name}");
                return next(context);
            })
            .Handle<LpQuery, int>(q => q.N + 1)
            .Handle<LpCommand>(async (c, cancellationToken) => order.Add($"nested {await inner!.RequestAsync(new LpQuery(c.N), cancellationToken: cancellationToken)}")));
        inner = bus;

        await bus.SendAsync(new LpCommand(5));
        Assert.Equal(9, await bus.RequestAsync(new LpQuery(8)));

        Assert.Equal(["in LpCommand", "in LpQuery", "nested 6", "in LpQuery"], order);
    }
}
