namespace Switchboard.EventSourcing;

/// <summary>
/// An event store in this process's memory, for tests and prototypes: the same checks as the database stores (expected
/// version, registered types, events serialized and read back), nothing durable.
/// </summary>
/// <remarks>
/// With this store <see cref="AggregateRepository{TAggregate}.SaveAsync(TAggregate, CancellationToken)"/> appends, then
/// publishes: a crash in between loses the publish (and the events, which live in memory).
/// </remarks>
public sealed class InMemoryEventStore : IEventStore
{
    private readonly Lock _gate = new();
    private readonly List<Row> _all = [];
    private readonly Dictionary<string, List<Row>> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _checkpoints = new(StringComparer.Ordinal);
    private readonly AppendListeners _listeners = new();
    private readonly TimeProvider _time;

    /// <summary>Initializes a new instance of the <see cref="InMemoryEventStore"/> class.</summary>
    /// <param name="types">The event types it stores; a new empty list when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock of <see cref="StoredEvent.RecordedAt"/>; the system's when <see langword="null"/>.</param>
    public InMemoryEventStore(EventTypes? types = null, TimeProvider? timeProvider = null)
    {
        Types = types ?? new EventTypes();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public EventTypes Types { get; }

    /// <inheritdoc />
    public ValueTask<long> AppendAsync(string streamId, long expectedVersion, IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken = default)
    {
        StreamIds.CheckAppend(streamId, expectedVersion, events);
        cancellationToken.ThrowIfCancellationRequested();

        // Serialized first: an unregistered type fails before anything is stored.
        (string Name, byte[] Body)[] written = new (string, byte[])[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            written[i] = Types.Write(streamId, expectedVersion + i + 1, events[i]);
        }

        DateTimeOffset now = _time.GetUtcNow();
        long version;
        lock (_gate)
        {
            _streams.TryGetValue(streamId, out List<Row>? stream);
            long actual = stream?.Count ?? 0;
            if (actual != expectedVersion)
            {
                throw new ConcurrencyException(streamId, expectedVersion, actual);
            }

            if (written.Length == 0)
            {
                return ValueTask.FromResult(actual);
            }

            if (stream is null)
            {
                stream = [];
                _streams.Add(streamId, stream);
            }

            for (int i = 0; i < written.Length; i++)
            {
                Row row = new(_all.Count + 1, streamId, expectedVersion + i + 1, written[i].Name, written[i].Body, now);
                _all.Add(row);
                stream.Add(row);
            }

            version = stream.Count;
        }

        _listeners.Signal();
        return ValueTask.FromResult(version);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoredEvent>> ReadStreamAsync(string streamId, long afterVersion = 0, CancellationToken cancellationToken = default)
    {
        StreamIds.Check(streamId);
        Row[] rows;
        lock (_gate)
        {
            rows = _streams.TryGetValue(streamId, out List<Row>? stream) && afterVersion < stream.Count
                ? stream.GetRange((int)Math.Max(0, afterVersion), stream.Count - (int)Math.Max(0, afterVersion)).ToArray()
                : [];
        }

        return ValueTask.FromResult<IReadOnlyList<StoredEvent>>(Read(rows));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        Row[] rows;
        lock (_gate)
        {
            int start = (int)Math.Min(afterPosition, _all.Count);
            rows = _all.GetRange(start, Math.Min(maxCount, _all.Count - start)).ToArray();
        }

        return ValueTask.FromResult<IReadOnlyList<StoredEvent>>(Read(rows));
    }

    /// <inheritdoc />
    public ValueTask<long> GetCheckpointAsync(string projection, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        lock (_gate)
        {
            return ValueTask.FromResult(_checkpoints.GetValueOrDefault(projection));
        }
    }

    /// <inheritdoc />
    public ValueTask SetCheckpointAsync(string projection, long position, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        lock (_gate)
        {
            _checkpoints[projection] = position;
        }

        return default;
    }

    /// <inheritdoc />
    public IDisposable OnAppended(Action appended) => _listeners.Add(appended);

    private StoredEvent[] Read(Row[] rows)
    {
        StoredEvent[] events = new StoredEvent[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            Row row = rows[i];
            events[i] = Types.Read(row.Position, row.StreamId, row.Version, row.Type, row.Body, row.RecordedAt);
        }

        return events;
    }

    private sealed record Row(long Position, string StreamId, long Version, string Type, byte[] Body, DateTimeOffset RecordedAt);
}
