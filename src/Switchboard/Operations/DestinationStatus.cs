namespace Switchboard.Operations;

/// <summary>One line of the overview: a source's backlog, dead letters and health.</summary>
public sealed record DestinationStatus
{
    /// <summary>Gets the source's id (<see cref="OperationsSource.Id"/>).</summary>
    public required string Source { get; init; }

    /// <summary>Gets the transport or store name.</summary>
    public required string Transport { get; init; }

    /// <summary>Gets the destination.</summary>
    public required string Destination { get; init; }

    /// <summary>Gets the consumer group.</summary>
    public required string ConsumerGroup { get; init; }

    /// <summary>Gets the dead letters, or <see langword="null"/> when they could not be counted.</summary>
    public long? DeadLetters { get; init; }

    /// <summary>Gets the backlog numbers; every number in it is <see langword="null"/> when the source cannot tell.</summary>
    public DestinationInfo Info { get; init; } = new();

    /// <summary>Gets <see cref="DestinationHealth.Healthy"/>, <see cref="DestinationHealth.DeadLetters"/> or <see cref="DestinationHealth.Unreachable"/>.</summary>
    public required DestinationHealth Health { get; init; }

    /// <summary>Gets why the source could not be read (exception type and message, with anything that looks like a credential removed), or <see langword="null"/>.</summary>
    public string? Error { get; init; }
}

/// <summary>How a source looks on the overview.</summary>
public enum DestinationHealth
{
    /// <summary>Read, and no dead letters.</summary>
    Healthy,

    /// <summary>Read, and it holds dead letters.</summary>
    DeadLetters,

    /// <summary>It could not be read.</summary>
    Unreachable,
}
