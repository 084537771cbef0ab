using System.Globalization;
using Switchboard;
using Switchboard.EventSourcing;
using Switchboard.EventSourcing.Sqlite;

namespace Orders;

public sealed record OrderOpened(string Customer) : DomainEvent;

public sealed record OrderLineAdded(string Sku, int Quantity, long PriceCents) : DomainEvent;

public sealed record OrderSubmitted(long TotalCents) : DomainEvent;

/// <summary>An event-sourced order: its state is what its events made of it (seed 001's aggregate).</summary>
public sealed class Order(string id) : AggregateRoot(id)
{
    public string? Customer { get; private set; }

    public long TotalCents { get; private set; }

    public bool Submitted { get; private set; }

    public void Open(string customer) => Raise(new OrderOpened(customer));

    public void AddLine(string sku, int quantity, long priceCents)
    {
        if (Submitted)
        {
            throw new InvalidOperationException($"order {Id} is already submitted");
        }

        Raise(new OrderLineAdded(sku, quantity, priceCents));
    }

    public void Submit() => Raise(new OrderSubmitted(TotalCents));

    protected override void Apply(DomainEvent @event)
    {
        switch (@event)
        {
            case OrderOpened opened:
                Customer = opened.Customer;
                break;
            case OrderLineAdded line:
                TotalCents += line.Quantity * line.PriceCents;
                break;
            case OrderSubmitted:
                Submitted = true;
                break;
        }
    }
}

/// <summary>A read model of order totals in the same SQLite file, written in the projection's transaction with its checkpoint.</summary>
public sealed class OrderTotalsProjection : ICatchUpProjection
{
    public string Name => "order-totals";

    public async ValueTask HandleAsync(StoredEvent @event, ProjectionContext context, CancellationToken cancellationToken)
    {
        if (@event.Event is OrderLineAdded line)
        {
            await Execute(context, $"INSERT INTO order_totals VALUES ('{line.AggregateId}', {line.Quantity * line.PriceCents}) " +
                "ON CONFLICT (order_id) DO UPDATE SET total_cents = total_cents + excluded.total_cents", cancellationToken);
        }
    }

    public async ValueTask ResetAsync(ProjectionContext context, CancellationToken cancellationToken)
        => await Execute(context, "DELETE FROM order_totals", cancellationToken);

    private static async Task Execute(ProjectionContext context, string sql, CancellationToken cancellationToken)
    {
        await using System.Data.Common.DbCommand command = context.Transaction!.Connection!.CreateCommand();
        command.Transaction = context.Transaction;
        command.CommandText = "CREATE TABLE IF NOT EXISTS order_totals (order_id TEXT PRIMARY KEY, total_cents INTEGER NOT NULL); " + sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>The aggregate step of the sample: save an order and its events through the outbox, then a projection catches up.</summary>
public static class OrderAggregateStep
{
    private static readonly TaskCompletionSource<string> s_billed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static EventTypes Types { get; } = new EventTypes().Add<OrderOpened>().Add<OrderLineAdded>().Add<OrderSubmitted>();

    /// <summary>The bus knows the events (they travel through the outbox) and bills a submitted order.</summary>
    public static BusBuilder Register(BusBuilder builder) => builder
        .AddMessageType<OrderOpened>()
        .AddMessageType<OrderLineAdded>()
        .Handle<OrderSubmitted>(e =>
        {
            Narrator.Handler("billing", $"invoice for {e.AggregateId} (version {e.AggregateVersion}): {Narrator.Money(e.TotalCents)}");
            s_billed.TrySetResult(e.AggregateId);
        });

    public static async Task RunAsync(IMessageBus bus, string connectionString)
    {
        await using SqliteEventStore store = new(connectionString, Types);
        AggregateRepository<Order> orders = new(store, bus, id => new Order(id));

        Order order = orders.CreateNew("ord-10");
        order.Open("heidi");
        order.AddLine("kettle", 1, 3_500);
        order.AddLine("mugs", 2, 350);
        await orders.SaveAsync(order);
        Narrator.Said($"saved {order.StreamId} at version {order.Version}; events and outbox rows in one transaction: {orders.PublishesThroughOutbox}.");

        // Two writers load version 3; the first submits, the second (now stale) adds a line.
        Order first = await orders.LoadAsync("ord-10");
        Order second = await orders.LoadAsync("ord-10");
        first.Submit();
        await orders.SaveAsync(first);
        await s_billed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        try
        {
            second.AddLine("spoons", 4, 100);
            await orders.SaveAsync(second);
        }
        catch (ConcurrencyException ex)
        {
            Narrator.Said($"the stale writer: {ex.Message.Split(':')[0]}; its line is neither stored nor published.");
        }

        using CatchUpProjectionRunner totals = new(store, new OrderTotalsProjection());
        int handled = await totals.CatchUpAsync();
        Narrator.Said(string.Create(CultureInfo.InvariantCulture,
            $"projection '{totals.Projection.Name}' caught up: {handled} events, checkpoint at position {totals.Position}, in the projection's own transaction."));
    }
}
