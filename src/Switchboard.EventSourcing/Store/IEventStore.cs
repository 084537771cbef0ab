namespace Switchboard.EventSourcing;

/// <summary>
/// Where aggregates' events live: one stream per aggregate (versions 1, 2, 3, …) and one global order over every stream
/// (positions) that catch-up projections read. Implementations: <see cref="InMemoryEventStore"/> (tests), the SQLite and
/// PostgreSQL stores of <c>Switchboard.EventSourcing.Sqlite</c> and <c>Switchboard.EventSourcing.Postgres</c>.
/// </summary>
/// <remarks>
/// Positions are assigned in commit order: a reader that saw position <c>p</c> never later finds a new event below it, so a
/// checkpoint is all a projection needs to resume.
/// </remarks>
public interface IEventStore
{
    /// <summary>Gets the allow-list of event types the store writes and reads.</summary>
    EventTypes Types { get; }

    /// <summary>
    /// Appends events to a stream if its current version is <paramref name="expectedVersion"/>; otherwise nothing is written.
    /// </summary>
    /// <param name="streamId">The stream, for example <c>Order-ord-1</c>.</param>
    /// <param name="expectedVersion">The version the writer read (0 for a new stream).</param>
    /// <param name="events">The events, versions <paramref name="expectedVersion"/> + 1 onwards.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stream's new version.</returns>
    /// <exception cref="ConcurrencyException">The stream's version is not <paramref name="expectedVersion"/>.</exception>
    /// <exception cref="ArgumentException">An event's type is not registered in <see cref="Types"/>.</exception>
    ValueTask<long> AppendAsync(string streamId, long expectedVersion, IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Reads a stream's events after a version, in version order.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="afterVersion">Events with a greater version are returned; 0 for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The events; empty when the stream does not exist.</returns>
    /// <exception cref="EventStoreReadException">A stored event cannot be read (its type is not registered, or its body is not valid).</exception>
    ValueTask<IReadOnlyList<StoredEvent>> ReadStreamAsync(string streamId, long afterVersion = 0, CancellationToken cancellationToken = default);

    /// <summary>Reads every stream's events after a global position, in position order (catch-up).</summary>
    /// <param name="afterPosition">Events with a greater position are returned; 0 for all.</param>
    /// <param name="maxCount">The most to return.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The events.</returns>
    /// <exception cref="EventStoreReadException">A stored event cannot be read.</exception>
    ValueTask<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Reads a projection's checkpoint: the position of the last event it processed, 0 when none.</summary>
    /// <param name="projection">The projection's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The position.</returns>
    ValueTask<long> GetCheckpointAsync(string projection, CancellationToken cancellationToken = default);

    /// <summary>Stores a projection's checkpoint on its own (a projection whose writes are not in this store's database).</summary>
    /// <param name="projection">The projection's name.</param>
    /// <param name="position">The position of the last event it processed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when it is stored.</returns>
    ValueTask SetCheckpointAsync(string projection, long position, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="appended"/> whenever events were committed through this store object (a catch-up projection
    /// wakes on it instead of waiting for its next poll). Other processes' appends are found by polling.
    /// </summary>
    /// <param name="appended">Called on the committing thread; must only signal.</param>
    /// <returns>Dispose it to stop.</returns>
    IDisposable OnAppended(Action appended);
}

/// <summary>An event as stored: the event itself and where it sits.</summary>
/// <param name="Position">Its global position, increasing in commit order over every stream.</param>
/// <param name="StreamId">Its stream.</param>
/// <param name="Version">Its version in the stream (1, 2, …).</param>
/// <param name="EventType">Its stored type name.</param>
/// <param name="Event">The event.</param>
/// <param name="RecordedAt">When it was appended.</param>
public sealed record StoredEvent(long Position, string StreamId, long Version, string EventType, DomainEvent Event, DateTimeOffset RecordedAt);

/// <summary>Builds and parses stream ids.</summary>
internal static class StreamIds
{
    public static string For(string aggregateType, string aggregateId) => aggregateType + "-" + aggregateId;

    public static void Check(string streamId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(streamId);
        if (streamId.Length > 400)
        {
            throw new ArgumentException($"A stream id has at most 400 characters; '{streamId[..20]}…' has {streamId.Length}.", nameof(streamId));
        }
    }

    public static void CheckAppend(string streamId, long expectedVersion, IReadOnlyList<DomainEvent> events)
    {
        Check(streamId);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        for (int i = 0; i < events.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(events[i], nameof(events));
        }
    }
}
