namespace Switchboard.EventSourcing;

/// <summary>
/// The base of an event-sourced aggregate (seed 001's <c>AggregateRoot</c>): its state is what its events made of it. A
/// command method checks the state and calls <see cref="Raise"/>; <see cref="Apply"/> changes the state, both for a new event
/// and when the repository replays the stored stream.
/// </summary>
/// <remarks>
/// Events are <see cref="DomainEvent"/> records. <see cref="Raise"/> stamps each with the aggregate's id, type and next
/// version, so that they travel with the partition and routing keys transports use. An aggregate is not thread-safe: load,
/// change and save it in one unit of work.
/// </remarks>
public abstract class AggregateRoot
{
    private readonly List<DomainEvent> _uncommitted = [];

    /// <summary>Initializes a new instance of the <see cref="AggregateRoot"/> class.</summary>
    /// <param name="id">The aggregate's id: not empty, at most 200 characters.</param>
    /// <exception cref="ArgumentException">The id is empty or too long.</exception>
    protected AggregateRoot(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (id.Length > 200)
        {
            throw new ArgumentException($"An aggregate id has at most 200 characters; '{id[..20]}…' has {id.Length}.", nameof(id));
        }

        Id = id;
    }

    /// <summary>Gets the aggregate's id.</summary>
    public string Id { get; }

    /// <summary>
    /// Gets the kind of aggregate, for example <c>Order</c>: the first part of its stream id and the
    /// <see cref="DomainEvent.AggregateType"/> of its events.
    /// </summary>
    /// <value>The default value is the class's name.</value>
    public virtual string AggregateType => GetType().Name;

    /// <summary>Gets the version after every event, stored and new: 0 for an aggregate without events.</summary>
    public long Version { get; private set; }

    /// <summary>Gets the version the aggregate had in the store when it was loaded or last saved: the expected version of the next save.</summary>
    public long PersistedVersion { get; private set; }

    /// <summary>Gets the events raised since the aggregate was loaded or last saved, in order.</summary>
    public IReadOnlyList<DomainEvent> UncommittedEvents => _uncommitted;

    /// <summary>Gets the id of the aggregate's stream in the event store: <c>{AggregateType}-{Id}</c>.</summary>
    public string StreamId => StreamIds.For(AggregateType, Id);

    /// <summary>Records a new event: stamps it with this aggregate's id, type and next version, applies it, and keeps it for the next save.</summary>
    /// <param name="event">The event.</param>
    protected void Raise(DomainEvent @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        DomainEvent stamped = @event with { AggregateId = Id, AggregateType = AggregateType, AggregateVersion = Version + 1 };
        Apply(stamped);
        _uncommitted.Add(stamped);
        Version++;
    }

    /// <summary>Changes the state for one event; called for new events and for each stored event when the aggregate is loaded.</summary>
    /// <param name="event">The event.</param>
    /// <remarks>It must not fail for an event it raised itself, and it must not raise events.</remarks>
    protected abstract void Apply(DomainEvent @event);

    /// <summary>Replays a stored event (the repository, when loading).</summary>
    internal void Replay(DomainEvent @event, long version)
    {
        Apply(@event);
        Version = version;
        PersistedVersion = version;
    }

    /// <summary>
    /// Marks the new events as stored: call it after committing the application's transaction in which
    /// <c>AggregateRepository.SaveAsync(aggregate, transaction)</c> wrote them (the repository's other save does it itself).
    /// </summary>
    public void AcceptSavedEvents() => MarkCommitted();

    /// <summary>The save committed: the new events are now stored.</summary>
    internal void MarkCommitted()
    {
        _uncommitted.Clear();
        PersistedVersion = Version;
    }
}
