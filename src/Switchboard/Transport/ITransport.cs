namespace Switchboard.Transport;

/// <summary>
/// A message broker, reduced to what every broker can do: send bytes with headers to a destination, and hand them to
/// consumers in groups, one message at a time, to be acknowledged after the handlers succeeded.
/// </summary>
/// <remarks>
/// <para>
/// The contract, in the order the bus uses it: <see cref="SendAsync"/> completes only when the broker has confirmed
/// the message (it is durable as far as the broker promises); a receiver hands out a <see cref="ReceivedMessage"/>; the
/// bus deserializes it, runs the handlers, and only then calls <see cref="ReceivedMessage.AckAsync"/>. On failure the
/// bus decides, by its retry policy, between <see cref="ReceivedMessage.RetryAsync"/> and
/// <see cref="ReceivedMessage.DeadLetterAsync"/>; a transport never retries or drops on its own. A message that was
/// received and neither acknowledged, retried nor dead-lettered (the consumer died) must be delivered again.
/// </para>
/// <para>
/// Retry, dead-letter decisions, deserialization, the type allow-list, inbox dedup and tracing live in the bus, once, for
/// every transport. Optional broker features are declared in <see cref="Capabilities"/>, never silently ignored.
/// </para>
/// </remarks>
public interface ITransport : IAsyncDisposable
{
    /// <summary>Gets the transport's name, used in statistics, metrics, spans and health checks (for example <c>redis</c>).</summary>
    string Name { get; }

    /// <summary>Gets the optional features this transport provides.</summary>
    TransportCapabilities Capabilities { get; }

    /// <summary>Sends a message and completes when the broker has confirmed it.</summary>
    /// <param name="message">The message; <see cref="TransportMessage.Destination"/> names the topic, stream or queue.</param>
    /// <param name="cancellationToken">Cancels waiting; the message may still have been sent.</param>
    /// <returns>A task that completes when the broker confirmed the message.</returns>
    ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Creates a receiver for one consumer group of a destination: every group receives every message sent to the
    /// destination, and the receivers of one group compete, each message going to one of them.
    /// </summary>
    /// <param name="options">Destination, group and consumer names.</param>
    /// <param name="cancellationToken">Cancels creating it.</param>
    /// <returns>The receiver; dispose it to stop receiving (unacknowledged messages are then delivered again).</returns>
    ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken);

    /// <summary>Returns the dead-letter queue of one consumer group of a destination.</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group whose failed messages it holds.</param>
    /// <returns>The dead-letter queue.</returns>
    IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup);
}

/// <summary>
/// Receives messages for one consumer of one consumer group. The bus calls <see cref="ReceiveAsync"/> from one loop, never
/// concurrently, and settles the messages it returned from several workers, possibly concurrently and in any order.
/// </summary>
public interface ITransportReceiver : IAsyncDisposable
{
    /// <summary>Waits for the next message.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The next message.</returns>
    ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken);
}

/// <summary>Optional transport features. A transport declares what it does natively; the bus never assumes the rest.</summary>
[Flags]
public enum TransportCapabilities
{
    /// <summary>Nothing beyond the contract.</summary>
    None = 0,

    /// <summary>Messages survive a restart of the process that sent them (and, as far as the broker is configured, of the broker).</summary>
    Durable = 1,

    /// <summary>The broker delays a retry itself; otherwise the transport emulates <see cref="ReceivedMessage.RetryAsync"/>'s delay.</summary>
    NativeDelay = 2,

    /// <summary>Messages with the same <see cref="TransportMessage.PartitionKey"/> are delivered in the order sent.</summary>
    OrderingByKey = 4,

    /// <summary>The broker moves failed messages to a dead-letter destination itself.</summary>
    NativeDeadLetter = 8,

    /// <summary>A long-running handler can extend its lease so that the message is not redelivered meanwhile.</summary>
    LeaseExtension = 16,
}
