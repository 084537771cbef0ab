using System.Collections.Concurrent;
using Switchboard;

namespace AotOrders;

/// <summary>The orders' state, shared by the handlers (a static, because the generated registration creates the handlers).</summary>
public static class OrderBook
{
    private static readonly ConcurrentDictionary<string, string> Orders = new(StringComparer.Ordinal);

    public static ConcurrentQueue<string> Log { get; } = new();

    public static void Set(string orderId, string status) => Orders[orderId] = status;

    public static string Get(string orderId) => Orders.TryGetValue(orderId, out string? status) ? status : "unknown";
}

/// <summary>Never reads its context: it runs on the publish fast path, like a delegate handler.</summary>
public sealed class EmailOnOrderCreated : IHandler<OrderCreated>
{
    public ValueTask HandleAsync(OrderCreated message, MessageContext context, CancellationToken cancellationToken)
    {
        OrderBook.Log.Enqueue($"email:{message.OrderId}");
        return default;
    }
}

public sealed class ShipOrderHandler : IHandler<ShipOrder>
{
    public ValueTask HandleAsync(ShipOrder message, MessageContext context, CancellationToken cancellationToken)
    {
        OrderBook.Set(message.OrderId, "shipped");
        return default;
    }
}

public sealed class OrderStatusHandler : IHandler<GetOrderStatus, OrderStatus>
{
    public ValueTask<OrderStatus> HandleAsync(GetOrderStatus message, MessageContext context, CancellationToken cancellationToken)
        => new(new OrderStatus(message.OrderId, OrderBook.Get(message.OrderId)));
}

/// <summary>Cascades OrderCreated through its context: with the outbox, the event is written there after the handler succeeds.</summary>
public sealed class PlaceOrderHandler : IHandler<PlaceOrder, OrderPlaced>
{
    public async ValueTask<OrderPlaced> HandleAsync(PlaceOrder message, MessageContext context, CancellationToken cancellationToken)
    {
        await context.PublishAsync(new OrderCreated(message.OrderId, message.Customer, message.AmountCents), cancellationToken);
        OrderBook.Set(message.OrderId, "placed");
        return new OrderPlaced(message.OrderId, "placed");
    }
}

public sealed class ChargePaymentHandler : IHandler<ChargePayment, PaymentReceipt>
{
    public ValueTask<PaymentReceipt> HandleAsync(ChargePayment message, MessageContext context, CancellationToken cancellationToken)
        => new(new PaymentReceipt(message.OrderId, message.AmountCents, $"rcpt-{message.OrderId}"));
}
