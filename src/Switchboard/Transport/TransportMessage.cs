namespace Switchboard.Transport;

/// <summary>A message as a broker sees it: a destination, string headers and an opaque body.</summary>
public sealed class TransportMessage
{
    /// <summary>Gets the topic, stream or queue the message is sent to.</summary>
    public required string Destination { get; init; }

    /// <summary>Gets the headers; <see cref="MessageHeaders"/> lists the standard names.</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>Gets the serialized body.</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Gets the ordering or partition key, or <see langword="null"/>.</summary>
    public string? PartitionKey { get; init; }

    /// <summary>Gets the message id header, or an empty string when it is missing.</summary>
    public string MessageId => Headers.TryGetValue(MessageHeaders.MessageId, out string? id) ? id : string.Empty;

    /// <summary>Returns a header's value, or <see langword="null"/>.</summary>
    /// <param name="name">The header name.</param>
    /// <returns>The value.</returns>
    public string? GetHeader(string name) => Headers.TryGetValue(name, out string? value) ? value : null;
}

/// <summary>Which messages a receiver gets.</summary>
/// <param name="Destination">The topic, stream or queue.</param>
/// <param name="ConsumerGroup">The group: each group receives every message; its consumers share them.</param>
/// <param name="ConsumerName">This consumer's name within the group, unique per process.</param>
public sealed record ReceiverOptions(string Destination, string ConsumerGroup, string ConsumerName)
{
    /// <summary>Gets how many messages the broker may hand this consumer before it acknowledges any. The default value is 16.</summary>
    public int Prefetch { get; init; } = 16;

    /// <summary>
    /// Gets the bus's clock: a receiver dates dead letters and waits out retry delays with it, never with the system clock
    /// directly, so that tests can move time. The default value is <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
