using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>
/// One place dead letters and a backlog live: a consumer group of a destination on a transport, or an outbox. The
/// operations API, the dashboard and the CLI work on a list of these.
/// </summary>
public sealed class OperationsSource
{
    /// <summary>Creates a source.</summary>
    /// <param name="transport">The transport or store name, for example <c>redis</c> or <c>outbox</c>.</param>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <param name="deadLetters">The group's dead-letter queue.</param>
    /// <param name="inspect">Reads the backlog numbers; <see langword="null"/> when the source cannot tell.</param>
    public OperationsSource(string transport, string destination, string consumerGroup, IDeadLetterQueue deadLetters, Func<CancellationToken, ValueTask<DestinationInfo>>? inspect = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(transport);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        ArgumentNullException.ThrowIfNull(deadLetters);
        Transport = transport;
        Destination = destination;
        ConsumerGroup = consumerGroup;
        DeadLetters = deadLetters;
        Inspect = inspect;
        Id = $"{transport}/{destination}/{consumerGroup}";
    }

    /// <summary>Gets the source's id, <c>{transport}/{destination}/{group}</c>: how the dashboard and the CLI name it.</summary>
    public string Id { get; }

    /// <summary>Gets the transport or store name.</summary>
    public string Transport { get; }

    /// <summary>Gets the destination.</summary>
    public string Destination { get; }

    /// <summary>Gets the consumer group.</summary>
    public string ConsumerGroup { get; }

    /// <summary>Gets the dead-letter queue.</summary>
    public IDeadLetterQueue DeadLetters { get; }

    /// <summary>Gets the function that reads the backlog numbers, or <see langword="null"/>.</summary>
    public Func<CancellationToken, ValueTask<DestinationInfo>>? Inspect { get; }

    /// <summary>Creates the source of one consumer group of a destination on a transport; its numbers come from the transport when it is an <see cref="ITransportInspector"/>.</summary>
    /// <param name="transport">The transport.</param>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <returns>The source.</returns>
    public static OperationsSource ForTransport(ITransport transport, string destination, string consumerGroup)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new OperationsSource(
            transport.Name,
            destination,
            consumerGroup,
            transport.GetDeadLetterQueue(destination, consumerGroup),
            transport is ITransportInspector inspector ? ct => inspector.InspectAsync(destination, consumerGroup, ct) : null);
    }

    /// <inheritdoc />
    public override string ToString() => Id;
}
