using System.Data.Common;
using Switchboard.Outbox;

namespace Switchboard.EventSourcing;

/// <summary>
/// Loads and saves one kind of aggregate (seed 001's <c>AggregateRepository(event_store, aggregate_factory, aggregate_type,
/// event_publisher=bus)</c>): <see cref="SaveAsync(TAggregate, CancellationToken)"/> appends the aggregate's new events to the
/// event store and publishes them on the bus.
/// </summary>
/// <typeparam name="TAggregate">The aggregate.</typeparam>
/// <remarks>
/// <para>
/// When the store is a <see cref="RelationalEventStore"/> and the bus has an outbox on the same database
/// (<see cref="PublishesThroughOutbox"/>), the events and their outbox rows commit in one transaction: a saved event is always
/// published (after the commit, by the outbox's dispatcher, even after a crash), a failed save publishes nothing. Each
/// event's message id is <c>{streamId}@{version}</c>, so a consumer's inbox drops a redelivered copy.
/// </para>
/// <para>
/// Otherwise the events are appended, then published with <see cref="IMessageBus.PublishBatchAsync"/>: a crash between the
/// two loses the publish of events that are stored (the weaker guarantee of seed 001's repository).
/// </para>
/// </remarks>
public sealed class AggregateRepository<TAggregate>
    where TAggregate : AggregateRoot
{
    private readonly Func<string, TAggregate> _factory;
    private readonly IMessageBus _bus;
    private readonly IOutbox? _outbox;
    private readonly RelationalEventStore? _relational;
    private volatile bool _schemasReady;

    /// <summary>Initializes a new instance of the <see cref="AggregateRepository{TAggregate}"/> class.</summary>
    /// <param name="store">The event store.</param>
    /// <param name="bus">The bus that publishes the saved events.</param>
    /// <param name="factory">Creates an empty aggregate with an id (the state before its first event).</param>
    public AggregateRepository(IEventStore store, IMessageBus bus, Func<string, TAggregate> factory)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(factory);
        Store = store;
        _bus = bus;
        _factory = factory;
        if (store is RelationalEventStore relational)
        {
            _relational = relational;
            if (bus.TryGetOutbox() is { } outbox && relational.SharesDatabaseWith(outbox.Store))
            {
                _outbox = outbox;
            }
        }
    }

    /// <summary>Gets the event store.</summary>
    public IEventStore Store { get; }

    /// <summary>Gets whether saves write the events and their outbox rows in one transaction (see the remarks of the class).</summary>
    public bool PublishesThroughOutbox => _outbox is not null;

    /// <summary>Creates a new aggregate, without events; nothing is stored before <see cref="SaveAsync(TAggregate, CancellationToken)"/>.</summary>
    /// <param name="id">The aggregate's id.</param>
    /// <returns>The aggregate, at version 0.</returns>
    public TAggregate CreateNew(string id) => Create(id);

    /// <summary>Loads an aggregate by replaying its stream.</summary>
    /// <param name="id">The aggregate's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The aggregate at its stored version.</returns>
    /// <exception cref="AggregateNotFoundException">The aggregate has no stored events.</exception>
    /// <exception cref="EventStoreReadException">A stored event cannot be read.</exception>
    public async ValueTask<TAggregate> LoadAsync(string id, CancellationToken cancellationToken = default)
    {
        TAggregate aggregate = Create(id);
        return await ReplayAsync(aggregate, cancellationToken).ConfigureAwait(false)
            ? aggregate
            : throw new AggregateNotFoundException(aggregate.AggregateType, id);
    }

    /// <summary>Loads an aggregate by replaying its stream, or returns <see langword="null"/> when it has no events.</summary>
    /// <param name="id">The aggregate's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The aggregate, or <see langword="null"/>.</returns>
    /// <exception cref="EventStoreReadException">A stored event cannot be read.</exception>
    public async ValueTask<TAggregate?> TryLoadAsync(string id, CancellationToken cancellationToken = default)
    {
        TAggregate aggregate = Create(id);
        return await ReplayAsync(aggregate, cancellationToken).ConfigureAwait(false) ? aggregate : null;
    }

    /// <summary>
    /// Saves the aggregate's new events, if nobody saved it since it was loaded, and publishes them (see the remarks of the
    /// class for the guarantee). Without new events it does nothing.
    /// </summary>
    /// <param name="aggregate">The aggregate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the events are stored (and, without an outbox, published).</returns>
    /// <exception cref="ConcurrencyException">Another writer saved the aggregate first: nothing of this save is stored or published.</exception>
    /// <exception cref="ArgumentException">An event's type is not registered with the store.</exception>
    public async ValueTask SaveAsync(TAggregate aggregate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        IReadOnlyList<DomainEvent> events = aggregate.UncommittedEvents;
        if (events.Count == 0)
        {
            return;
        }

        if (_outbox is not null)
        {
            RelationalEventStore store = _relational!;
            if (!_schemasReady)
            {
                // One after the other: both may create the same new PostgreSQL schema, each under its own lock.
                await _outbox.Store.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
                await store.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
                _schemasReady = true;
            }

            DbConnection connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                DbTransaction transaction = await store.BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await AppendAndAddToOutboxAsync(transaction, aggregate, events, cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            aggregate.MarkCommitted();
            store.NotifyAppended();
            return;
        }

        DomainEvent[] saved = [.. events];
        await Store.AppendAsync(aggregate.StreamId, aggregate.PersistedVersion, saved, cancellationToken).ConfigureAwait(false);
        aggregate.MarkCommitted();

        // Stored: from here on a failure (or a crash) loses the publish, not the events.
        await _bus.PublishBatchAsync(saved, options: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Saves the aggregate's new events and their outbox rows in the application's own transaction, with whatever else it
    /// writes there: all of it commits, or none. The events are published once that transaction commits. Call
    /// <see cref="RelationalEventStore.NotifyAppended"/> after the commit to wake this process's projections at once (they
    /// poll otherwise), and <see cref="AggregateRoot.AcceptSavedEvents"/> to go on using the aggregate.
    /// </summary>
    /// <param name="aggregate">The aggregate.</param>
    /// <param name="transaction">An open transaction on the event store's database.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the rows are written (not committed).</returns>
    /// <exception cref="InvalidOperationException">The store is not relational, or the bus has no outbox on its database.</exception>
    /// <exception cref="ConcurrencyException">Another writer saved the aggregate first.</exception>
    public async ValueTask SaveAsync(TAggregate aggregate, DbTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        ArgumentNullException.ThrowIfNull(transaction);
        if (_outbox is null)
        {
            throw new InvalidOperationException(
                $"Saving {aggregate.AggregateType} '{aggregate.Id}' in the application's transaction needs a database event store (SQLite or PostgreSQL) and a bus outbox on the same database " +
                "(UseSqliteOutbox / UsePostgresOutbox); this repository has " + (_relational is null ? $"a {Store.GetType().Name}." : "no outbox on the store's database."));
        }

        IReadOnlyList<DomainEvent> events = aggregate.UncommittedEvents;
        if (events.Count > 0)
        {
            await AppendAndAddToOutboxAsync(transaction, aggregate, events, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask AppendAndAddToOutboxAsync(DbTransaction transaction, TAggregate aggregate, IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken)
    {
        string streamId = aggregate.StreamId;
        await _relational!.AppendAsync(transaction, streamId, aggregate.PersistedVersion, events, cancellationToken).ConfigureAwait(false);
        foreach (DomainEvent @event in events)
        {
            OutboxMessageOptions options = new() { MessageId = streamId + "@" + @event.AggregateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            await _outbox!.PublishAsync(transaction, @event, options, cancellationToken).ConfigureAwait(false);
        }
    }

    private TAggregate Create(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        TAggregate aggregate = _factory(id) ?? throw new InvalidOperationException($"The factory of {typeof(TAggregate).Name} returned null for '{id}'.");
        return aggregate.Id == id
            ? aggregate
            : throw new InvalidOperationException($"The factory of {typeof(TAggregate).Name} was asked for '{id}' and made '{aggregate.Id}'.");
    }

    private async ValueTask<bool> ReplayAsync(TAggregate aggregate, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredEvent> stream = await Store.ReadStreamAsync(aggregate.StreamId, 0, cancellationToken).ConfigureAwait(false);
        foreach (StoredEvent stored in stream)
        {
            aggregate.Replay(stored.Event, stored.Version);
        }

        return stream.Count > 0;
    }
}
