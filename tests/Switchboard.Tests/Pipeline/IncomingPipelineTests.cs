using System.Collections.Concurrent;

namespace Switchboard.Tests.Pipeline;

public sealed record PlOrderPlaced(string Id);
public sealed record PlPlaceOrder(string Id) : IRequest<string>;
public sealed record PlShip(string Id);
public sealed record PlCount(int N) : IRequest<int>;
public interface IPlAudited;
public sealed record PlAuditedEvent(string Id) : IPlAudited;

/// <summary>Records its name before and after the rest of the pipeline.</summary>
public sealed class PlTracer(string name, ConcurrentQueue<string> trace) : IIncomingMiddleware
{
    public async ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        trace.Enqueue($"{name}>");
        await next(context);
        trace.Enqueue($"<{name}");
    }
}

/// <summary>An open generic middleware: closed over each message type.</summary>
public sealed class PlTypedMiddleware<TMessage> : IIncomingMiddleware
{
    public static readonly ConcurrentQueue<string> Seen = new();

    public ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        Seen.Enqueue($"{typeof(TMessage).Name}:{((TMessage)context.Message)!.GetType().Name}");
        return next(context);
    }
}

/// <summary>An open generic middleware whose constraint limits it to requests.</summary>
public sealed class PlRequestsOnly<TMessage> : IIncomingMiddleware
    where TMessage : IRequest<string>
{
    public static readonly ConcurrentQueue<string> Seen = new();

    public ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        Seen.Enqueue(typeof(TMessage).Name);
        return next(context);
    }
}

public sealed class IncomingPipelineTests
{
    [Fact]
    public async Task Incoming_middleware_runs_in_registration_order_around_the_handler()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(new PlTracer("outer", trace))
            .UseIncoming(async (context, next) =>
            {
                trace.Enqueue("inner>");
                await next(context);
                trace.Enqueue("<inner");
            })
            .Handle<PlOrderPlaced>(e => trace.Enqueue("handler " + e.Id)));

        await bus.PublishAsync(new PlOrderPlaced("o-1"));

        Assert.Equal(["outer>", "inner>", "handler o-1", "<inner", "<outer"], trace);
    }

    [Fact]
    public async Task Incoming_middleware_runs_around_every_handler_of_a_published_event()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                trace.Enqueue("mw " + context.HandlerName);
                return next(context);
            })
            .Handle<PlOrderPlaced>(First)
            .Handle<PlOrderPlaced>(Second));

        await bus.PublishAsync(new PlOrderPlaced("o-1"));

        Assert.Equal(["mw handler of PlOrderPlaced", "first", "mw handler of PlOrderPlaced", "second"], trace);

        void First(PlOrderPlaced e) => trace.Enqueue("first");
        void Second(PlOrderPlaced e) => trace.Enqueue("second");
    }

    [Fact]
    public async Task A_middleware_that_does_not_call_next_keeps_the_handler_from_running()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) => ((PlShip)context.Message).Id == "blocked" ? default : next(context))
            .Handle<PlShip>(_ => Interlocked.Increment(ref handled)));

        await bus.SendAsync(new PlShip("blocked"));
        await bus.SendAsync(new PlShip("ok"));

        Assert.Equal(1, handled);
    }

    [Fact]
    public async Task A_middleware_can_answer_a_request_in_the_handlers_place_or_replace_its_result()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                if (((PlPlaceOrder)context.Message).Id == "cached")
                {
                    context.Result = "from cache";
                    return;
                }

                await next(context);
                context.Result = (string)context.Result! + " (seen)";
            })
            .Handle<PlPlaceOrder, string>(o =>
            {
                Interlocked.Increment(ref handled);
                return "placed " + o.Id;
            }));

        Assert.Equal("from cache", await bus.RequestAsync(new PlPlaceOrder("cached")));
        Assert.Equal("placed o-2 (seen)", await bus.RequestAsync(new PlPlaceOrder("o-2")));
        Assert.Equal("placed o-3 (seen)", await bus.ExecuteAsync(new PlPlaceOrder("o-3")));
        Assert.Equal("placed o-4 (seen)", Assert.Single(await bus.SendBatchAsync([new PlPlaceOrder("o-4")])));
        Assert.Equal(3, handled);
    }

    [Fact]
    public async Task A_request_whose_middleware_returns_without_a_result_fails_clearly()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((_, _) => default)
            .Handle<PlCount, int>(c => c.N));

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.RequestAsync(new PlCount(1)));
        Assert.Contains("ended without a result", error.Message);
    }

    [Fact]
    public async Task A_value_type_result_travels_through_the_pipeline()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                await next(context);
                context.Result = (int)context.Result! * 10;
            })
            .Handle<PlCount, int>(async (c, ct) =>
            {
                await Task.Yield();
                return c.N + 1;
            }));

        Assert.Equal(30, await bus.RequestAsync(new PlCount(2)));
    }

    [Fact]
    public async Task A_middleware_exception_fails_a_send_and_is_isolated_for_a_publish()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, _) => throw new InvalidOperationException("middleware refused " + context.MessageType.Name))
            .Handle<PlShip>(_ => Interlocked.Increment(ref handled))
            .Handle<PlOrderPlaced>(_ => Interlocked.Increment(ref handled)));

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new PlShip("s-1")));
        Assert.Equal("middleware refused PlShip", error.Message);

        await bus.PublishAsync(new PlOrderPlaced("o-1")); // isolated, as a handler's exception
        Assert.Equal(0, handled);
        Assert.Equal(2, bus.GetStatistics().HandlerErrors);

        AggregateException thrown = await Assert.ThrowsAsync<AggregateException>(async () =>
            await bus.PublishAsync(new PlOrderPlaced("o-2"), new PublishOptions { HandlerErrors = HandlerErrorMode.Throw }));
        Assert.Equal("middleware refused PlOrderPlaced", Assert.Single(thrown.InnerExceptions).Message);
    }

    [Fact]
    public async Task A_handlers_exception_reaches_the_middleware_which_sees_it_after_next()
    {
        ConcurrentQueue<string> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception ex)
                {
                    seen.Enqueue(ex.Message);
                    throw;
                }
            })
            .Handle<PlShip>(s => throw new ArgumentException("no address for " + s.Id)));

        await Assert.ThrowsAsync<ArgumentException>(async () => await bus.SendAsync(new PlShip("s-9")));
        Assert.Equal(["no address for s-9"], seen);
    }

    [Fact]
    public async Task Middleware_limited_to_a_type_or_interface_runs_only_for_those_messages()
    {
        ConcurrentQueue<string> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) => { seen.Enqueue("ship:" + context.MessageType.Name); return next(context); }, appliesTo: typeof(PlShip))
            .UseIncoming((context, next) => { seen.Enqueue("audited:" + context.MessageType.Name); return next(context); }, appliesTo: typeof(IPlAudited))
            .Handle<PlShip>(_ => { })
            .Handle<PlOrderPlaced>(_ => { })
            .Handle<IPlAudited>(_ => { }));

        await bus.SendAsync(new PlShip("s"));
        await bus.PublishAsync(new PlOrderPlaced("o"));
        await bus.PublishAsync(new PlAuditedEvent("a"));

        Assert.Equal(["ship:PlShip", "audited:PlAuditedEvent"], seen);
    }

    [Fact]
    public async Task An_open_generic_middleware_is_closed_over_each_message_type_and_skipped_where_its_constraints_exclude_it()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(typeof(PlTypedMiddleware<>))
            .UseIncoming(typeof(PlRequestsOnly<>))
            .Handle<PlShip>(_ => { })
            .Handle<PlPlaceOrder, string>(o => o.Id));

        await bus.SendAsync(new PlShip("x-1"));
        await bus.RequestAsync(new PlPlaceOrder("x-2"));

        Assert.Contains("PlShip:PlShip", PlTypedMiddleware<PlShip>.Seen);
        Assert.Contains("PlPlaceOrder:PlPlaceOrder", PlTypedMiddleware<PlPlaceOrder>.Seen);
        Assert.Equal(["PlPlaceOrder"], PlRequestsOnly<PlPlaceOrder>.Seen);
    }

    [Fact]
    public async Task The_message_context_is_available_and_shared_with_the_handler()
    {
        string? seenByHandler = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                context.MessageContext.Items["tenant"] = "acme:" + context.MessageContext.MessageId;
                return next(context);
            })
            .Handle<PlShip>(async (s, context, ct) =>
            {
                seenByHandler = (string?)context.Items["tenant"];
                await Task.Yield();
            }));

        await bus.SendAsync(new PlShip("s-1"));

        Assert.StartsWith("acme:", seenByHandler);
    }

    [Fact]
    public async Task Class_handlers_resolved_per_message_run_through_the_middleware_too()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(new PlTracer("mw", trace))
            .AddHandler(new PlClassHandler(trace)));

        await bus.PublishAsync(new PlOrderPlaced("o-1"));

        Assert.Equal(["mw>", "class o-1", "<mw"], trace);
    }

    [Fact]
    public async Task What_a_handler_behind_middleware_cascades_is_dispatched_after_it_succeeded_and_dropped_when_it_failed()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) => next(context), appliesTo: typeof(PlShip))
            .Handle<PlShip>(async (s, context, ct) =>
            {
                await context.PublishAsync(new PlOrderPlaced("after-" + s.Id), ct);
                if (s.Id == "fail")
                {
                    throw new InvalidOperationException("no");
                }
            })
            .Handle<PlOrderPlaced>(e => trace.Enqueue(e.Id)));

        await bus.SendAsync(new PlShip("ok"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new PlShip("fail")));

        Assert.Equal(["after-ok"], trace);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task Runtime_subscriptions_are_observers_and_run_without_the_middleware()
    {
        int middleware = 0;
        int observed = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.UseIncoming((context, next) =>
        {
            Interlocked.Increment(ref middleware);
            return next(context);
        }));
        using Subscription subscription = bus.Subscribe<PlOrderPlaced>(_ => Interlocked.Increment(ref observed));

        await bus.PublishAsync(new PlOrderPlaced("o-1"));

        Assert.Equal(1, observed);
        Assert.Equal(0, middleware);
    }

    [Fact]
    public async Task A_standalone_bus_refuses_a_middleware_type_it_cannot_construct()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() =>
            MessageBus.Create(b => b.UseIncoming<PlNeedsDependency>().Handle<PlShip>(_ => { })));
        Assert.Contains("PlNeedsDependency", error.Message);
        await Task.CompletedTask;
    }

    [Fact]
    public void Registering_something_that_is_not_middleware_is_refused()
    {
        Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.UseIncoming(typeof(string))));
        Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.UseOutgoing(typeof(PlTracer))));
    }
}

public sealed class PlClassHandler(ConcurrentQueue<string> trace) : IHandler<PlOrderPlaced>
{
    public ValueTask HandleAsync(PlOrderPlaced message, MessageContext context, CancellationToken cancellationToken)
    {
        trace.Enqueue("class " + message.Id);
        return default;
    }
}

public sealed class PlNeedsDependency(ConcurrentQueue<string> trace) : IIncomingMiddleware
{
    public ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        trace.Enqueue("x");
        return next(context);
    }
}
