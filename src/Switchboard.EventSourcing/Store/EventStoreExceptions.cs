namespace Switchboard.EventSourcing;

/// <summary>A stream's version was not the one the writer expected: another writer saved the aggregate first. Nothing was written.</summary>
/// <remarks>Reload the aggregate and retry the command, or report the conflict.</remarks>
public sealed class ConcurrencyException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="ConcurrencyException"/> class.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the writer expected.</param>
    /// <param name="actualVersion">The stream's version in the store.</param>
    public ConcurrencyException(string streamId, long expectedVersion, long actualVersion)
        : base($"Stream '{streamId}' is at version {actualVersion}, not at the expected version {expectedVersion}: another writer saved it first. Nothing was written; reload the aggregate and retry.")
    {
        StreamId = streamId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyException"/> class.</summary>
    public ConcurrencyException()
        : this(string.Empty, 0, 0)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ConcurrencyException(string message)
        : base(message)
    {
        StreamId = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ConcurrencyException(string message, Exception innerException)
        : base(message, innerException)
    {
        StreamId = string.Empty;
    }

    /// <summary>Gets the stream (<c>{AggregateType}-{Id}</c> for an aggregate).</summary>
    public string StreamId { get; }

    /// <summary>Gets the version the writer expected.</summary>
    public long ExpectedVersion { get; }

    /// <summary>Gets the stream's version in the store when the append was refused.</summary>
    public long ActualVersion { get; }
}

/// <summary>A stored event cannot be read: its type is not registered, or its body is not valid. Nothing is skipped.</summary>
public sealed class EventStoreReadException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="EventStoreReadException"/> class.</summary>
    /// <param name="streamId">The event's stream.</param>
    /// <param name="position">The event's global position.</param>
    /// <param name="version">The event's version in its stream.</param>
    /// <param name="reason">Why it cannot be read.</param>
    /// <param name="innerException">The cause, if any.</param>
    public EventStoreReadException(string streamId, long position, long version, string reason, Exception? innerException = null)
        : base($"The event at position {position} (stream '{streamId}', version {version}) cannot be read: {reason}.", innerException)
    {
        StreamId = streamId;
        Position = position;
        Version = version;
    }

    /// <summary>Initializes a new instance of the <see cref="EventStoreReadException"/> class.</summary>
    public EventStoreReadException()
        : this("Stored event cannot be read.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EventStoreReadException"/> class.</summary>
    /// <param name="message">The message.</param>
    public EventStoreReadException(string message)
        : base(message)
    {
        StreamId = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="EventStoreReadException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public EventStoreReadException(string message, Exception innerException)
        : base(message, innerException)
    {
        StreamId = string.Empty;
    }

    /// <summary>Gets the event's stream.</summary>
    public string StreamId { get; }

    /// <summary>Gets the event's global position.</summary>
    public long Position { get; }

    /// <summary>Gets the event's version in its stream.</summary>
    public long Version { get; }
}

/// <summary>An aggregate was loaded that has no stored events.</summary>
public sealed class AggregateNotFoundException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="AggregateNotFoundException"/> class.</summary>
    /// <param name="aggregateType">The aggregate's type.</param>
    /// <param name="aggregateId">The aggregate's id.</param>
    public AggregateNotFoundException(string aggregateType, string aggregateId)
        : base($"There is no {aggregateType} '{aggregateId}': its stream '{StreamIds.For(aggregateType, aggregateId)}' has no events. Create it with AggregateRepository.CreateNew.")
    {
        AggregateType = aggregateType;
        AggregateId = aggregateId;
    }

    /// <summary>Initializes a new instance of the <see cref="AggregateNotFoundException"/> class.</summary>
    public AggregateNotFoundException()
        : this("Aggregate not found.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="AggregateNotFoundException"/> class.</summary>
    /// <param name="message">The message.</param>
    public AggregateNotFoundException(string message)
        : base(message)
    {
        AggregateType = string.Empty;
        AggregateId = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="AggregateNotFoundException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public AggregateNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        AggregateType = string.Empty;
        AggregateId = string.Empty;
    }

    /// <summary>Gets the aggregate's type.</summary>
    public string AggregateType { get; }

    /// <summary>Gets the aggregate's id.</summary>
    public string AggregateId { get; }
}
