using Switchboard.EventSourcing;

namespace Switchboard.Benchmarks.EventSourcing;

public sealed record CounterIncremented(int By) : DomainEvent;

public sealed class Counter(string id) : AggregateRoot(id)
{
    public long Value { get; private set; }

    public static EventTypes Types() => new EventTypes().Add<CounterIncremented>("bench.counter-incremented");

    public void Increment(int by) => Raise(new CounterIncremented(by));

    protected override void Apply(DomainEvent @event) => Value += ((CounterIncremented)@event).By;
}
