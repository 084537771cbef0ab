using Switchboard;

namespace Orders;

/// <summary>
/// A class handler, the one handler of <see cref="PlaceOrder"/>. It returns a result and publishes
/// <see cref="OrderCreated"/> through its <see cref="MessageContext"/>: the bus holds that event until this handler has
/// returned successfully, then dispatches it. If the handler throws, the event is never seen.
/// </summary>
public sealed class PlaceOrderHandler(OrderBook book) : IHandler<PlaceOrder, OrderPlaced>
{
    public async ValueTask<OrderPlaced> HandleAsync(PlaceOrder command, MessageContext context, CancellationToken cancellationToken)
    {
        await context.PublishAsync(new OrderCreated(command.OrderId, command.Customer, command.AmountCents), cancellationToken);
        if (command.AmountCents <= 0)
        {
            throw new InvalidOperationException($"order {command.OrderId} has no amount");
        }

        book.Set(command.OrderId, "placed");
        Narrator.Handler("orders", $"{command.OrderId} placed; OrderCreated is published through the context, held until I return");
        return new OrderPlaced(command.OrderId, "placed");
    }
}
