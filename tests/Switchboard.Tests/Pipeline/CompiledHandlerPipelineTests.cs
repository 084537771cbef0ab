namespace Switchboard.Tests.Pipeline;

// Generated class handlers (registered through AddCompiledHandler, as the source generator does) end an incoming chain
// with their own step: the message, the context when the handler reads it, the result, and failures reach the
// middleware exactly as for any other handler.
public sealed class CompiledHandlerPipelineTests
{
    public sealed record ChCommand(int N);

    public sealed record ChQuery(int N) : IRequest<int>;

    public sealed record ChSlowQuery(int N) : IRequest<string>;

    public sealed record ChFailing(int N);

    public sealed class ChCommandHandler : IHandler<ChCommand>
    {
        public static int Last;

        public ValueTask HandleAsync(ChCommand message, MessageContext context, CancellationToken cancellationToken)
        {
            Last = message.N;
            return ValueTask.CompletedTask;
        }
    }

    public sealed class ChQueryHandler : IHandler<ChQuery, int>
    {
        public ValueTask<int> HandleAsync(ChQuery message, MessageContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(message.N * 2);
    }

    public sealed class ChSlowQueryHandler : IHandler<ChSlowQuery, string>
    {
        public async ValueTask<string> HandleAsync(ChSlowQuery message, MessageContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return $"{message.N}:{context.Items["tag"]}";
        }
    }

    public sealed class ChFailingHandler : IHandler<ChFailing>
    {
        public ValueTask HandleAsync(ChFailing message, MessageContext context, CancellationToken cancellationToken)
            => throw new InvalidOperationException($"refused {message.N}");
    }

    [Fact]
    public async Task A_generated_command_handler_runs_behind_the_middleware()
    {
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                seen.Add($"before {context.Message}");
                await next(context);
                seen.Add("after");
            })
            .AddCompiledHandler<ChCommandHandler, ChCommand>(_ => new ChCommandHandler(), CompiledHandlerFlags.None));

        await bus.SendAsync(new ChCommand(41));

        Assert.Equal(41, ChCommandHandler.Last);
        Assert.Equal(["before ChCommand { N = 41 }", "after"], seen);
    }

    [Fact]
    public async Task A_generated_request_handlers_result_reaches_the_middleware_which_may_replace_it()
    {
        List<object?> results = [];
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                await next(context);
                results.Add(context.Result);
                if (context.Message is ChQuery { N: 0 })
                {
                    context.Result = -1;
                }
            })
            .AddCompiledHandler<ChQueryHandler, ChQuery, int>(_ => new ChQueryHandler(), CompiledHandlerFlags.None));

        Assert.Equal(42, await bus.RequestAsync(new ChQuery(21)));
        Assert.Equal(-1, await bus.RequestAsync(new ChQuery(0)));
        Assert.Equal([42, 0], results);
    }

    [Fact]
    public async Task A_generated_handler_reading_its_context_sees_what_the_middleware_put_there_and_answers_later()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                context.MessageContext.Items["tag"] = "from middleware";
                return next(context);
            })
            .AddCompiledHandler<ChSlowQueryHandler, ChSlowQuery, string>(_ => new ChSlowQueryHandler(), CompiledHandlerFlags.UsesContext));

        Assert.Equal("7:from middleware", await bus.RequestAsync(new ChSlowQuery(7)));
    }

    [Fact]
    public async Task A_generated_handlers_exception_reaches_the_middleware_and_the_caller()
    {
        Exception? caught = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception ex)
                {
                    caught = ex;
                    throw;
                }
            })
            .AddCompiledHandler<ChFailingHandler, ChFailing>(_ => new ChFailingHandler(), CompiledHandlerFlags.None));

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new ChFailing(3)));

        Assert.Equal("refused 3", error.Message);
        Assert.Same(error, caught);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }
}
