using System.Collections.Concurrent;

namespace Switchboard.Transport.Conformance;

/// <summary>
/// The middleware pipeline across a transport: what outgoing middleware adds on the sender reaches incoming middleware
/// and handlers on the receiver, a rejected message is dead-lettered at once with the reason, and a short-circuited one is
/// settled, not redelivered. Every transport runs these through the shared consumer.
/// </summary>
public abstract partial class TransportConformanceTests
{
    [Fact]
    public async Task Pipeline_OutgoingHeadersReachIncomingMiddlewareAndHandlersOnAnotherBus()
    {
        string destination = Destination("pipeline");
        Ledger ledger = new();
        ConcurrentQueue<string> trace = new();
        IMessageBus sender = await ServiceAsync("web", b => b
            .RouteToTransport<CfOrderPlaced>(destination)
            .UseOutgoing((context, next) =>
            {
                context.Headers["x-tenant"] = "acme";
                return next(context);
            }));
        await ServiceAsync("billing", b => b
            .RouteToTransport<CfOrderPlaced>(destination)
            .UseIncoming(async (context, next) =>
            {
                trace.Enqueue("in " + context.MessageContext.Headers.GetValueOrDefault("x-tenant"));
                await next(context);
            })
            .Handle<CfOrderPlaced>((e, context, ct) =>
            {
                if (context.Headers.GetValueOrDefault("x-tenant") == "acme")
                {
                    ledger.Handled(e.Id);
                }

                return default;
            }));

        for (int i = 0; i < 20; i++)
        {
            string id = $"p-{i}";
            await sender.PublishAsync(new CfOrderPlaced(id));
            ledger.Published(id);
        }

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
        Assert.Equal(20, trace.Count(t => t == "in acme"));
    }

    [Fact]
    public async Task Pipeline_ARejectedMessageIsDeadLetteredAtOnceWithTheReason_AndTheConsumerGoesOn()
    {
        string destination = Destination("pipeline-rejected");
        Ledger ledger = new();
        int invalidHandled = 0;
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b
            .RouteToTransport<CfOrderPlaced>(destination)
            .AddValidator<CfOrderPlaced>(e => e.Id.StartsWith("bad", StringComparison.Ordinal) ? [$"Order id {e.Id} is not a valid id."] : [])
            .Handle<CfOrderPlaced>(e =>
            {
                if (e.Id.StartsWith("bad", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref invalidHandled);
                }

                ledger.Handled(e.Id);
            }));

        await sender.PublishAsync(new CfOrderPlaced("bad-1"));
        foreach (string id in new[] { "ok-1", "ok-2" })
        {
            await sender.PublishAsync(new CfOrderPlaced(id));
            ledger.Published(id);
        }

        await ledger.WaitAllHandledAsync(Patience);
        IDeadLetterQueue dlq = DeadLetters(destination, "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Equal(1, dead.Reason.Attempts); // rejected, not retried: it would fail the same way every time
        Assert.Equal(typeof(MessageValidationException).FullName, dead.Reason.ExceptionType);
        Assert.Contains("Order id bad-1 is not a valid id.", dead.Reason.Reason);
        Assert.Equal(0, Volatile.Read(ref invalidHandled));
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task Pipeline_AMessageTheIncomingMiddlewareSkipsIsSettled_NotRedeliveredOrDeadLettered()
    {
        string destination = Destination("pipeline-skipped");
        Ledger ledger = new();
        int skipped = 0;
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b
            .RouteToTransport<CfOrderPlaced>(destination)
            .UseIncoming((context, next) =>
            {
                if (((CfOrderPlaced)context.Message).Id.StartsWith("skip", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref skipped);
                    return default;
                }

                return next(context);
            })
            .Handle<CfOrderPlaced>(e => ledger.Handled(e.Id)));

        await sender.PublishAsync(new CfOrderPlaced("skip-1"));
        await sender.PublishAsync(new CfOrderPlaced("ok-1"));
        ledger.Published("ok-1");

        await ledger.WaitAllHandledAsync(Patience);
        await Eventually.TrueAsync(() => Volatile.Read(ref skipped) >= 1, Patience);

        // Published after the skipped one on the same destination: once it is handled, a redelivery of the skipped one
        // would have had its chance to show; it is counted once and never dead-lettered.
        await sender.PublishAsync(new CfOrderPlaced("ok-2"));
        ledger.Published("ok-2");
        await ledger.WaitAllHandledAsync(Patience);
        Assert.Equal(1, Volatile.Read(ref skipped));
        Assert.Equal(0, await DeadLetters(destination, "billing").CountAsync());
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task Pipeline_ARequestsResultPassesThroughIncomingMiddlewareOnTheWorker()
    {
        string destination = Destination("pipeline-quotes");
        IMessageBus client = await ServiceAsync("web", b => b.RouteToTransport<CfQuote>(destination));
        await ServiceAsync("pricing", b => b
            .RouteToTransport<CfQuote>(destination)
            .UseIncoming(async (context, next) =>
            {
                await next(context);
                CfQuoted quoted = (CfQuoted)context.Result!;
                context.Result = quoted with { Cents = quoted.Cents + 1 };
            })
            .Handle<CfQuote, CfQuoted>(q => new CfQuoted(q.Sku, 1000)));

        CfQuoted quote = await client.RequestAsync(new CfQuote("sku-1"), new RequestOptions { Timeout = Patience });

        Assert.Equal(new CfQuoted("sku-1", 1001), quote);
    }
}
