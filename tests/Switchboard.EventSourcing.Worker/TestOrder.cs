
namespace Switchboard.EventSourcing.Worker;

public sealed record TestOrderPlaced(string Customer, long AmountCents) : DomainEvent;

public sealed record TestOrderLineAdded(string Sku, int Quantity) : DomainEvent;

public sealed record TestOrderShipped : DomainEvent;

/// <summary>Registered by nobody: saving it must fail clearly.</summary>
public sealed record TestOrderNoteAdded(string Note) : DomainEvent;

/// <summary>The test domain: an order placed once, with lines, shipped once.</summary>
public sealed class TestOrder(string id) : AggregateRoot(id)
{
    public override string AggregateType => "TestOrder";

    public string? Customer { get; private set; }

    public long AmountCents { get; private set; }

    public int Lines { get; private set; }

    public bool Shipped { get; private set; }

    public static EventTypes Types() => new EventTypes()
        .Add<TestOrderPlaced>("test.order-placed")
        .Add<TestOrderLineAdded>("test.order-line-added")
        .Add<TestOrderShipped>("test.order-shipped");

    public static BusBuilder AddMessageTypes(BusBuilder builder) => builder
        .AddMessageType<TestOrderPlaced>("test.order-placed")
        .AddMessageType<TestOrderLineAdded>("test.order-line-added")
        .AddMessageType<TestOrderShipped>("test.order-shipped");

    public void Place(string customer, long amountCents)
    {
        if (Version > 0)
        {
            throw new InvalidOperationException($"Order {Id} is already placed.");
        }

        Raise(new TestOrderPlaced(customer, amountCents));
    }

    public void AddLine(string sku, int quantity) => Raise(new TestOrderLineAdded(sku, quantity));

    public void AddNote(string note) => Raise(new TestOrderNoteAdded(note));

    public void Ship()
    {
        if (Shipped)
        {
            throw new InvalidOperationException($"Order {Id} is already shipped.");
        }

        Raise(new TestOrderShipped());
    }

    protected override void Apply(DomainEvent @event)
    {
        switch (@event)
        {
            case TestOrderPlaced placed:
                Customer = placed.Customer;
                AmountCents = placed.AmountCents;
                break;
            case TestOrderLineAdded:
                Lines++;
                break;
            case TestOrderShipped:
                Shipped = true;
                break;
            case TestOrderNoteAdded:
                break;
            default:
                throw new InvalidOperationException($"TestOrder cannot apply {@event.GetType().Name}.");
        }
    }
}
