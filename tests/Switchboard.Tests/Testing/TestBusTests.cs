using Switchboard.Testing;

namespace Switchboard.Tests.Testing;

public sealed record TbPlaceOrder(string OrderId, long Cents) : IRequest<TbOrderPlaced>;
public sealed record TbOrderPlaced(string OrderId, string Status);
public sealed record TbChargeCard(string OrderId, long Cents);
public sealed record TbOrderCreated(string OrderId);
public sealed record TbOrderCancelled(string OrderId);

/// <summary>Code under test: it only knows IMessageBus.</summary>
public sealed class TbCheckout(IMessageBus bus)
{
    public async Task<string> CheckoutAsync(string orderId, long cents)
    {
        TbOrderPlaced placed = await bus.RequestAsync(new TbPlaceOrder(orderId, cents));
        await bus.SendAsync(new TbChargeCard(orderId, cents));
        await bus.PublishAsync(new TbOrderCreated(orderId));
        return placed.Status;
    }
}

public sealed class TestBusTests
{
    [Fact]
    public async Task A_test_bus_records_every_publish_send_and_request_and_answers_from_configured_replies()
    {
        await using TestBus test = TestBus.Create();
        test.Reply<TbPlaceOrder, TbOrderPlaced>(order => new TbOrderPlaced(order.OrderId, "placed"));

        string status = await new TbCheckout(test.Bus).CheckoutAsync("ord-1", 1999);

        Assert.Equal("placed", status);
        Assert.Equal(1999, test.AssertRequested<TbPlaceOrder>(r => r.OrderId == "ord-1").Cents);
        Assert.Equal(1999, test.AssertSent<TbChargeCard>().Cents);
        test.AssertPublished<TbOrderCreated>(e => e.OrderId == "ord-1");
        test.AssertNotPublished<TbOrderCancelled>();
        Assert.Equal([OutgoingKind.Request, OutgoingKind.Send, OutgoingKind.Publish], test.Messages.Select(m => m.Kind));
        Assert.True(test.Messages[0].Answered);
        Assert.Equal([new TbOrderCreated("ord-1")], test.Recorded<TbOrderCreated>());
    }

    [Fact]
    public async Task A_failed_assertion_says_what_was_expected_and_lists_what_was_recorded()
    {
        await using TestBus test = TestBus.Create();
        await test.Bus.PublishAsync(new TbOrderCreated("ord-1"));

        TestBusAssertionException missing = Assert.Throws<TestBusAssertionException>(() => test.AssertPublished<TbOrderCreated>(e => e.OrderId == "ord-2"));
        Assert.Equal("Expected a TbOrderCreated matching the condition to have been published; recorded: Publish TbOrderCreated { OrderId = ord-1 }.", missing.Message);

        TestBusAssertionException unexpected = Assert.Throws<TestBusAssertionException>(() => test.AssertNotPublished<TbOrderCreated>());
        Assert.Contains("but TbOrderCreated { OrderId = ord-1 } was", unexpected.Message);

        Assert.Throws<TestBusAssertionException>(() => test.AssertSent<TbChargeCard>());
        test.Clear();
        Assert.Empty(test.Messages);
    }

    [Fact]
    public async Task A_request_without_a_reply_or_a_handler_fails_with_how_to_configure_one()
    {
        await using TestBus test = TestBus.Create();

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await test.Bus.RequestAsync(new TbPlaceOrder("o", 1)));

        Assert.Contains("test.Reply<TbPlaceOrder, TbOrderPlaced>", error.Message);
        test.AssertRequested<TbPlaceOrder>();
    }

    [Fact]
    public async Task Real_handlers_still_run_and_what_they_cascade_is_recorded()
    {
        await using TestBus test = TestBus.Create(b => b.Handle<TbChargeCard>(async (c, context, ct) =>
            await context.PublishAsync(new TbOrderCreated(c.OrderId), ct)));

        await test.Bus.SendAsync(new TbChargeCard("ord-7", 5));

        test.AssertPublished<TbOrderCreated>(e => e.OrderId == "ord-7");
        Assert.False(test.Messages[0].Answered);
    }

    [Fact]
    public async Task A_command_a_handler_cascades_to_another_service_is_recorded_not_refused()
    {
        await using TestBus test = TestBus.Create(b => b.Handle<TbOrderCreated>(async (e, context, ct) =>
            await context.SendAsync(new TbChargeCard(e.OrderId, 42), ct)));

        await test.Bus.PublishAsync(new TbOrderCreated("ord-8"));

        Assert.Equal(42, test.AssertSent<TbChargeCard>(c => c.OrderId == "ord-8").Cents);
    }

    [Fact]
    public async Task A_configured_failure_reaches_the_caller_as_a_broken_downstream_would()
    {
        await using TestBus test = TestBus.Create();
        test.Fail<TbChargeCard>(c => new TimeoutException("gateway down for " + c.OrderId));

        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(async () => await test.Bus.SendAsync(new TbChargeCard("ord-9", 1)));

        Assert.Equal("gateway down for ord-9", error.Message);
        test.AssertSent<TbChargeCard>();
    }
}
