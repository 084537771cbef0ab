using Switchboard;

namespace Orders;

/// <summary>
/// A service on the bus (seed 002's <c>BaseService</c>): it subscribes when it starts, and the base class removes those
/// subscriptions when it stops. Every status change is published on the bus as a <see cref="ServiceStatusChanged"/>.
/// </summary>
public sealed class FraudWatch(IMessageBus bus) : BusService("fraud-watch", bus)
{
    private const long ReviewAboveCents = 100_000;

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        Subscribe<OrderCreated>((order, _) =>
        {
            if (order.AmountCents > ReviewAboveCents)
            {
                Narrator.Handler("fraud-watch", $"{order.OrderId} ({Narrator.Money(order.AmountCents)}) held for review");
            }

            return ValueTask.CompletedTask;
        });
        return Task.CompletedTask;
    }
}
