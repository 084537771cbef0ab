namespace Switchboard.Transport;

/// <summary>Why a message was dead-lettered.</summary>
/// <param name="Reason">A sentence a person can act on, for example <c>Unknown message type 'x'</c>.</param>
/// <param name="ExceptionType">The handler exception's type name, when a handler failed.</param>
/// <param name="ExceptionDetails">The exception's message and stack trace, when a handler failed.</param>
/// <param name="Attempts">How many deliveries were attempted.</param>
public sealed record DeadLetterReason(string Reason, string? ExceptionType, string? ExceptionDetails, int Attempts)
{
    /// <summary>Describes a handler failure.</summary>
    /// <param name="exception">The last exception.</param>
    /// <param name="attempts">How many deliveries were attempted.</param>
    /// <returns>The reason.</returns>
    public static DeadLetterReason FromException(Exception exception, int attempts)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new DeadLetterReason(
            $"Handler failed after {attempts} attempt(s): {exception.GetType().Name}: {exception.Message}",
            exception.GetType().FullName,
            exception.ToString(),
            attempts);
    }
}

/// <summary>A message in a dead-letter queue: the original message, untouched, with why and when it failed.</summary>
public sealed class DeadLetterMessage
{
    /// <summary>Gets the dead-letter entry's id, used to replay or delete it.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the original message, body and headers as they were received.</summary>
    public required TransportMessage Message { get; init; }

    /// <summary>Gets why it failed.</summary>
    public required DeadLetterReason Reason { get; init; }

    /// <summary>Gets when it was dead-lettered.</summary>
    public required DateTimeOffset DeadLetteredAt { get; init; }

    /// <summary>Gets the consumer group that failed it.</summary>
    public required string ConsumerGroup { get; init; }
}

/// <summary>
/// The dead-letter queue of one consumer group, the same on every transport (seed 001's <c>get_dlq_messages</c>,
/// <c>replay_dlq_message</c>).
/// </summary>
public interface IDeadLetterQueue
{
    /// <summary>Lists dead-lettered messages, oldest first.</summary>
    /// <param name="count">The most to return.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The messages.</returns>
    ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default);

    /// <summary>Counts dead-lettered messages.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The count.</returns>
    ValueTask<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends one message back to its destination for its group, with a fresh attempt count, and removes it from the queue.</summary>
    /// <param name="id">The dead-letter entry's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the entry existed and was replayed.</returns>
    ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Replays every message in the queue.</summary>
    /// <param name="cancellationToken">Cancels the call; messages replayed so far stay replayed.</param>
    /// <returns>How many were replayed.</returns>
    ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes one message for good.</summary>
    /// <param name="id">The dead-letter entry's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the entry existed.</returns>
    ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}
