using System.Globalization;

namespace Switchboard.Transport;

/// <summary>
/// The one dead-letter schema every transport writes and reads: why, when and in which consumer group a message failed,
/// carried as ordinary headers (<c>sb-dlq-*</c>) next to the original message's own, which stay untouched. A transport
/// stores <see cref="Add"/>'s headers with the copy it dead-letters, and lists entries through <see cref="Read"/>;
/// a replay removes them again (<see cref="IsDeadLetterHeader"/>).
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>The prefix of every dead-letter header.</summary>
    public const string Prefix = "sb-dlq-";

    /// <summary>Why it failed: a sentence a person can act on (<see cref="DeadLetterReason.Reason"/>).</summary>
    public const string Reason = "sb-dlq-reason";

    /// <summary>The handler exception's type name, when a handler failed.</summary>
    public const string ExceptionType = "sb-dlq-exception-type";

    /// <summary>The exception's message and stack trace, when a handler failed.</summary>
    public const string ExceptionDetails = "sb-dlq-exception-details";

    /// <summary>How many deliveries were attempted, in decimal.</summary>
    public const string Attempts = "sb-dlq-attempts";

    /// <summary>When it was dead-lettered, in Unix milliseconds (decimal).</summary>
    public const string At = "sb-dlq-at";

    /// <summary>The consumer group that failed it.</summary>
    public const string ConsumerGroup = "sb-dlq-group";

    /// <summary>Returns whether a header belongs to the dead-letter schema (and is removed on replay).</summary>
    /// <param name="name">The header name.</param>
    /// <returns><see langword="true"/> for a <c>sb-dlq-*</c> header.</returns>
    public static bool IsDeadLetterHeader(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith(Prefix, StringComparison.Ordinal);
    }

    /// <summary>Returns the original message's headers plus the dead-letter headers.</summary>
    /// <param name="headers">The original message's headers (any earlier dead-letter headers are replaced).</param>
    /// <param name="reason">Why it failed.</param>
    /// <param name="at">When it was dead-lettered (the bus's clock).</param>
    /// <param name="consumerGroup">The consumer group that failed it.</param>
    /// <returns>A new dictionary.</returns>
    public static Dictionary<string, string> Add(IReadOnlyDictionary<string, string> headers, DeadLetterReason reason, DateTimeOffset at, string consumerGroup)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(consumerGroup);
        Dictionary<string, string> result = new(headers.Count + 6, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> header in headers)
        {
            if (!IsDeadLetterHeader(header.Key))
            {
                result[header.Key] = header.Value;
            }
        }

        result[Reason] = reason.Reason;
        if (reason.ExceptionType is not null)
        {
            result[ExceptionType] = reason.ExceptionType;
        }

        if (reason.ExceptionDetails is not null)
        {
            result[ExceptionDetails] = reason.ExceptionDetails;
        }

        result[Attempts] = reason.Attempts.ToString(CultureInfo.InvariantCulture);
        result[At] = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        result[ConsumerGroup] = consumerGroup;
        return result;
    }

    /// <summary>Reads a stored dead letter back: the original message without the dead-letter headers, and why, when and where it failed.</summary>
    /// <param name="id">The entry's id in its dead-letter queue.</param>
    /// <param name="stored">The stored message, dead-letter headers included.</param>
    /// <param name="consumerGroup">The group whose queue it is in, used when the entry names none.</param>
    /// <param name="fallbackReason">The reason when the entry has none (the broker dead-lettered it itself), or <see langword="null"/> for a generic one.</param>
    /// <param name="fallbackAt">When it was dead-lettered, when the entry does not say.</param>
    /// <returns>The dead letter.</returns>
    public static DeadLetterMessage Read(string id, TransportMessage stored, string consumerGroup, string? fallbackReason = null, DateTimeOffset fallbackAt = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(stored);
        Dictionary<string, string> original = new(stored.Headers.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> header in stored.Headers)
        {
            if (!IsDeadLetterHeader(header.Key))
            {
                original[header.Key] = header.Value;
            }
        }

        string? at = stored.GetHeader(At);
        return new DeadLetterMessage
        {
            Id = id,
            Message = new TransportMessage { Destination = stored.Destination, Headers = original, Body = stored.Body, PartitionKey = stored.PartitionKey },
            Reason = new DeadLetterReason(
                stored.GetHeader(Reason) ?? fallbackReason ?? "Dead-lettered without a recorded reason.",
                NullIfEmpty(stored.GetHeader(ExceptionType)),
                NullIfEmpty(stored.GetHeader(ExceptionDetails)),
                int.TryParse(stored.GetHeader(Attempts), NumberStyles.Integer, CultureInfo.InvariantCulture, out int attempts) ? attempts : 0),
            DeadLetteredAt = long.TryParse(at, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : fallbackAt,
            ConsumerGroup = stored.GetHeader(ConsumerGroup) ?? consumerGroup,
        };
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
