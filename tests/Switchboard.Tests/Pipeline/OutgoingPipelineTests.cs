using System.Collections.Concurrent;

namespace Switchboard.Tests.Pipeline;

public sealed class OutgoingPipelineTests
{
    [Fact]
    public async Task Outgoing_middleware_sees_every_kind_of_message_in_order_before_it_is_routed()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing(async (context, next) =>
            {
                trace.Enqueue($"out {context.Kind} {context.MessageType.Name} to {context.Destination ?? "here"}");
                await next(context);
            })
            .Handle<PlOrderPlaced>(e => trace.Enqueue("handled " + e.Id))
            .Handle<PlShip>(async (s, context, ct) =>
            {
                trace.Enqueue("shipping " + s.Id);
                await context.PublishAsync(new PlOrderPlaced("cascaded-from-" + s.Id), ct);
            })
            .Handle<PlPlaceOrder, string>(o => "placed " + o.Id));

        await bus.PublishAsync(new PlOrderPlaced("p"));
        await bus.SendAsync(new PlShip("s"));
        Assert.Equal("placed r", await bus.RequestAsync(new PlPlaceOrder("r")));
        Assert.Equal("placed e", await bus.ExecuteAsync(new PlPlaceOrder("e")));
        await bus.PublishBatchAsync([new PlOrderPlaced("b")]);

        Assert.Equal(
            [
                "out Publish PlOrderPlaced to here", "handled p",
                "out Send PlShip to here", "shipping s", "out Publish PlOrderPlaced to here", "handled cascaded-from-s",
                "out Request PlPlaceOrder to here",
                "out Execute PlPlaceOrder to switchboard",
                "out Publish PlOrderPlaced to here", "handled b",
            ],
            trace);
    }

    [Fact]
    public async Task Headers_and_ids_set_by_outgoing_middleware_reach_the_handlers_context()
    {
        TaskCompletionSource<(string? Tenant, string MessageId, string CorrelationId)> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        string? stamped = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, next) =>
            {
                context.Headers["x-tenant"] = "acme";
                context.CorrelationId = "conv-1";
                stamped = context.MessageId;
                return next(context);
            })
            .Handle<PlShip>((s, context, ct) =>
            {
                seen.TrySetResult((context.Headers.GetValueOrDefault("x-tenant"), context.MessageId, context.CorrelationId));
                return default;
            }));

        await bus.SendAsync(new PlShip("s-1"));

        (string? tenant, string messageId, string correlationId) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("acme", tenant);
        Assert.Equal(stamped, messageId);
        Assert.Equal("conv-1", correlationId);
    }

    [Fact]
    public async Task Headers_set_by_outgoing_middleware_travel_with_a_message_through_the_transport()
    {
        TaskCompletionSource<string?> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, next) =>
            {
                context.Headers["x-tenant"] = "acme";
                return next(context);
            })
            .RouteToTransport<PlShip>("pl-ship")
            .Handle<PlShip>((s, context, ct) =>
            {
                seen.TrySetResult(context.Headers.GetValueOrDefault("x-tenant"));
                return default;
            }));

        await bus.SendAsync(new PlShip("s-1"));

        Assert.Equal("acme", await seen.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_request_over_the_transport_carries_the_message_id_the_outgoing_middleware_saw()
    {
        string? sent = null;
        string? received = null;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, next) =>
            {
                sent = context.MessageId;
                return next(context);
            })
            .RouteToTransport<PlCount>("pl-count")
            .Handle<PlCount, int>((c, context, ct) =>
            {
                received = context.MessageId;
                return ValueTask.FromResult(c.N + 1);
            }));

        Assert.Equal(3, await bus.RequestAsync(new PlCount(2)));

        Assert.NotNull(sent);
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task Outgoing_middleware_that_does_not_call_next_keeps_the_message_from_going_anywhere()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, next) => ((PlShip)context.Message).Id == "drop" ? default : next(context), appliesTo: typeof(PlShip))
            .Handle<PlShip>(_ => Interlocked.Increment(ref handled)));

        await bus.SendAsync(new PlShip("drop"));
        await bus.SendAsync(new PlShip("keep"));

        Assert.Equal(1, handled);
    }

    [Fact]
    public async Task Outgoing_middleware_can_answer_a_request_without_a_handler()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.UseOutgoing((context, next) =>
        {
            if (context.Message is PlPlaceOrder order)
            {
                context.Result = "stubbed " + order.Id;
                return default;
            }

            return next(context);
        }));

        Assert.Equal("stubbed r-1", await bus.RequestAsync(new PlPlaceOrder("r-1")));
        await Assert.ThrowsAsync<NoHandlerException>(async () => await bus.RequestAsync(new PlCount(1)));
    }

    [Fact]
    public async Task A_result_of_the_wrong_type_is_refused_where_it_is_set()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.UseOutgoing((context, _) =>
        {
            context.Result = 42;
            return default;
        }));

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(async () => await bus.RequestAsync(new PlPlaceOrder("r-1")));
        Assert.Contains("String", error.Message);
    }

    [Fact]
    public async Task An_outgoing_exception_reaches_the_caller_and_no_handler_runs()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, _) => throw new InvalidOperationException($"{context.Kind} refused"))
            .Handle<PlShip>(_ => Interlocked.Increment(ref handled))
            .Handle<PlOrderPlaced>(_ => Interlocked.Increment(ref handled)));

        Assert.Equal("Send refused", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new PlShip("s")))).Message);
        Assert.Equal("Publish refused", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.PublishAsync(new PlOrderPlaced("p")))).Message);
        Assert.Equal(0, handled);
    }

    [Fact]
    public async Task Outgoing_and_incoming_middleware_both_run_for_an_in_process_message_outgoing_first()
    {
        ConcurrentQueue<string> trace = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming(async (context, next) =>
            {
                trace.Enqueue("in>");
                await next(context);
                trace.Enqueue("<in");
            })
            .UseOutgoing(async (context, next) =>
            {
                trace.Enqueue("out>");
                await next(context);
                trace.Enqueue("<out");
            })
            .Handle<PlShip>(_ => trace.Enqueue("handler")));

        await bus.SendAsync(new PlShip("s"));

        Assert.Equal(["out>", "in>", "handler", "<in", "<out"], trace);
    }

    [Fact]
    public async Task A_background_publish_passes_the_outgoing_pipeline_on_its_worker()
    {
        TaskCompletionSource<string> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutgoing((context, next) =>
            {
                context.Headers["via"] = "pipeline";
                return next(context);
            })
            .Handle<PlOrderPlaced>((e, context, ct) =>
            {
                seen.TrySetResult(context.Headers["via"]);
                return default;
            }));

        await bus.PublishAsync(new PlOrderPlaced("bg"), new PublishOptions { Background = true });

        Assert.Equal("pipeline", await seen.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_bus_without_middleware_keeps_the_fast_path_and_counts_as_before()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<PlOrderPlaced>(_ => handled++));

        for (int i = 0; i < 10; i++)
        {
            await bus.PublishAsync(new PlOrderPlaced("p"));
        }

        Assert.Equal(10, handled);
        Assert.Equal(10, bus.GetStatistics().EventsPublished);
    }
}
