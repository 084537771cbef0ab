namespace Switchboard.AllocationTests;

/// <summary>
/// A handler behind incoming middleware keeps the allocation-free path: the lean path's pooled context, and the message
/// context it makes only when the middleware or the handler reads it.
/// </summary>
public sealed class MiddlewareAllocationTests
{
    private static readonly Ping Ping = new(1);
    private static readonly DoWork DoWork = new(2);
    private static readonly Query Query = new(3);

    [Fact]
    public async Task Publish_Send_Request_ThroughOneNoOpMiddleware_AllocateNothing()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                calls++;
                return next(context);
            })
            .Handle<Ping>(static _ => { })
            .Handle<DoWork>(static _ => { })
            .Handle<Query, Answer>(static _ => Answer.Cached));

        long publish = AllocationMeter.Measure(() => bus.PublishAsync(Ping));
        long send = AllocationMeter.Measure(() => bus.SendAsync(DoWork));
        long request = AllocationMeter.Measure(() => bus.RequestAsync(Query));

        Assert.True(publish == 0, AllocationMeter.Describe("PublishAsync through one middleware", publish));
        Assert.True(send == 0, AllocationMeter.Describe("SendAsync through one middleware", send));
        Assert.True(request == 0, AllocationMeter.Describe("RequestAsync through one middleware", request));
        Assert.True(calls >= 3 * (AllocationMeter.WarmUp + AllocationMeter.Iterations));
    }

    [Fact]
    public async Task Send_ThroughMiddlewareReadingTheMessageContext_ToAContextHandler_AllocatesNothing()
    {
        int attempts = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseIncoming((context, next) =>
            {
                attempts += context.MessageContext.Attempt;
                return next(context);
            })
            .Handle<DoWork>(static (_, context, _) => context.Attempt == 1 ? ValueTask.CompletedTask : throw new InvalidOperationException()));

        long bytes = AllocationMeter.Measure(() => bus.SendAsync(DoWork));

        Assert.True(bytes == 0, AllocationMeter.Describe("SendAsync through a middleware reading MessageContext", bytes));
        Assert.True(attempts >= AllocationMeter.WarmUp + AllocationMeter.Iterations);
    }
}
