namespace Switchboard.EventSourcing;

/// <summary>
/// The statements of a <see cref="RelationalEventStore"/>. Parameters are named <c>@stream_id</c>, <c>@version</c>,
/// <c>@event_type</c>, <c>@body</c>, <c>@recorded_at</c>, <c>@after</c>, <c>@max_count</c>, <c>@name</c>, <c>@position</c>
/// and <c>@updated_at</c>; reads return the columns position, stream id, version, type, body, recorded at (Unix ms).
/// </summary>
public sealed record EventStoreStatements
{
    /// <summary>Gets the DDL that creates the tables if missing (run in a transaction).</summary>
    public required string CreateSchema { get; init; }

    /// <summary>Gets a statement run first in every append's transaction, so that positions are committed in order; <see langword="null"/> when the database has one writer at a time.</summary>
    public string? LockAppends { get; init; }

    /// <summary>Gets the statement that returns a stream's version (0 when it has no events).</summary>
    public required string CurrentVersion { get; init; }

    /// <summary>Gets the statement that inserts one event.</summary>
    public required string Insert { get; init; }

    /// <summary>Gets the statement that reads a stream after a version.</summary>
    public required string ReadStream { get; init; }

    /// <summary>Gets the statement that reads every stream after a position.</summary>
    public required string ReadAll { get; init; }

    /// <summary>Gets the statement that reads a checkpoint.</summary>
    public required string GetCheckpoint { get; init; }

    /// <summary>Gets the statement that inserts or updates a checkpoint.</summary>
    public required string SetCheckpoint { get; init; }
}
