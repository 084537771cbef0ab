using Switchboard.Testing;

namespace Switchboard.Tests.Contract;

// The "What a user writes" block of DESIGN.md section 2, compiled and run as written.
public sealed record OrderCreated(string OrderId, long AmountCents);
public sealed record PlaceOrder(string OrderId, long AmountCents) : IRequest<OrderPlaced>;
public sealed record OrderPlaced(string OrderId, string Status);
public sealed record CancelOrder(string OrderId) : IRequest<bool>;
public sealed record Audited(string OrderId);

public sealed class AuditHandler : IHandler<OrderCreated>
{
    public ValueTask HandleAsync(OrderCreated message, MessageContext context, CancellationToken cancellationToken)
        => context.PublishAsync(new Audited(message.OrderId), cancellationToken);
}

public sealed class WhatAUserWritesTests
{
    [Fact]
    public async Task DesignBlock_CompilesAndBehavesAsItsCommentsSay()
    {
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(10));
        CancellationToken ct = cts.Token;
        List<string> seen = [];

        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<OrderCreated>(e => { lock (seen) { seen.Add("sync:" + e.OrderId); } });
            b.Handle<OrderCreated>(async (e, ct) => await Task.Delay(1, ct));
            b.Handle<PlaceOrder, OrderPlaced>(cmd => new OrderPlaced(cmd.OrderId, "placed"));
            b.Handle<CancelOrder, bool>(async (cmd, ct) => { await Task.Yield(); return true; });
            b.AddHandler<AuditHandler>();
        });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new OrderCreated("ord-1", 1999));
        Assert.Contains("sync:ord-1", seen);
        Audited audited = await sync.WaitForEventAsync<Audited>();
        Assert.Equal("ord-1", audited.OrderId);

        OrderPlaced placed = await bus.RequestAsync(new PlaceOrder("ord-1", 1999));
        Assert.Equal(new OrderPlaced("ord-1", "placed"), placed);
        Assert.True(await bus.RequestAsync(new CancelOrder("ord-1")));

        object? result = await bus.ExecuteAsync(new PlaceOrder("ord-2", 5), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(10) });
        Assert.Equal(new OrderPlaced("ord-2", "placed"), result);

        List<string> subscribed = [];
        using (Subscription sub = bus.Subscribe<OrderCreated>(e => subscribed.Add(e.OrderId)))
        using (Subscription topic = bus.Subscribe("orders/*", (TopicMessage m) => subscribed.Add(m.Topic)))
        {
            await bus.PublishAsync("orders/created", new { OrderId = "ord-3" });
            await using EventStream<OrderCreated> stream = bus.Stream<OrderCreated>();
            await bus.PublishAsync(new OrderCreated("ord-4", 1));
            await foreach (OrderCreated e in stream.WithCancellation(ct))
            {
                Assert.Equal("ord-4", e.OrderId);
                break;
            }

            Assert.False(stream.IsActive);
        }

        Assert.Equal(["orders/created", "ord-4"], subscribed);

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(
            ["OrderCreated", "Audited", "TopicMessage", "OrderCreated", "Audited"],
            sync.Events.Select(e => e.GetType().Name));
        Assert.Equal(5, stats.EventsPublished); // ord-1, its Audited, orders/created, ord-4, its Audited
        Assert.True(stats.HandlersInvoked >= 8);
        Assert.Equal(0, stats.HandlerErrors);
        Assert.Equal(0, stats.BackgroundTasksCreated);
        Assert.Equal(0, stats.BackgroundTasksCompleted);

        ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromSeconds(30));
        Assert.True(report.Completed);
        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.PublishAsync(new OrderCreated("late", 1)));
    }
}
