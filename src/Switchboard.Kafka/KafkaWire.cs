using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>Topic names, the header names of dead letters and replays, and the mapping between Kafka records and <see cref="TransportMessage"/>.</summary>
internal static class KafkaWire
{
    /// <summary>Why a record was dead-lettered (on the dead-letter topic).</summary>
    public const string DeadLetterReason = "sb-dlq-reason";
    public const string DeadLetterExceptionType = "sb-dlq-exception-type";
    public const string DeadLetterExceptionDetails = "sb-dlq-exception-details";
    public const string DeadLetterAttempts = "sb-dlq-attempts";
    public const string DeadLetterGroup = "sb-dlq-group";
    public const string DeadLetterAt = "sb-dlq-at";
    public const string DeadLetterSource = "sb-dlq-source";

    /// <summary>
    /// On the dead-letter topic: a marker that settles an entry (its value is the entry's id). Kafka cannot delete a record,
    /// so a replayed or deleted entry is hidden by a later marker; listing reads entries and markers together.
    /// </summary>
    public const string DeadLetterSettles = "sb-dlq-settles";

    /// <summary>On a replayed record: the only consumer group that handles it (the others skip and commit it).</summary>
    public const string ReplayFor = "sb-replay-for";

    public static bool IsTopicChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-';

    /// <summary>Kafka allows letters, digits, '.', '_' and '-' in topic names: anything else in a destination becomes '_'.</summary>
    public static string Topic(string prefix, string destination) => prefix + Sanitize(destination);

    public static string DeadLetterTopic(string prefix, string destination, string group) => $"{Topic(prefix, destination)}.{Sanitize(group)}.dlq";

    private static string Sanitize(string name)
    {
        foreach (char c in name)
        {
            if (!IsTopicChar(c))
            {
                return string.Create(name.Length, name, static (span, source) =>
                {
                    for (int i = 0; i < span.Length; i++)
                    {
                        span[i] = IsTopicChar(source[i]) ? source[i] : '_';
                    }
                });
            }
        }

        return name;
    }

    /// <summary>
    /// Whether a sender may leave a header off the record because every receiver derives it (<see cref="FromHeaders"/>):
    /// <c>ce-partitionkey</c> equal to the record's key (the CloudEvents Kafka binding maps <c>partitionkey</c> to the
    /// key), and <c>ce-correlationid</c> equal to <c>ce-id</c> (a message that starts a conversation; the bus reads a
    /// missing correlation id as the message id).
    /// </summary>
    public static bool IsDerivable(string name, string value, string? id, string? key) => name switch
    {
        MessageHeaders.PartitionKey => key is { Length: > 0 } && string.Equals(value, key, StringComparison.Ordinal),
        MessageHeaders.CorrelationId => id is not null && string.Equals(value, id, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// The headers of a record as the bus sees them: the record's headers, plus the derivable ones a sender left off
    /// (<see cref="IsDerivable"/>): <c>ce-correlationid</c> = <c>ce-id</c> and <c>ce-partitionkey</c> = the record's key,
    /// each only when the record does not carry it. A record written with both (by an older Switchboard) reads the same.
    /// </summary>
    /// <param name="headers">The record's headers.</param>
    /// <param name="key">The record's key.</param>
    /// <param name="values">The reader's decoded constant values, when it reads on one thread; null decodes every value.</param>
    public static Dictionary<string, string> FromHeaders(Headers? headers, string? key, KafkaHeaderValues? values = null)
    {
        int count = headers?.Count ?? 0;
        Dictionary<string, string> result = new(count + 2, StringComparer.Ordinal);
        string? id = null;
        for (int i = 0; i < count; i++)
        {
            IHeader header = headers![i];
            string name = header.Key;
            string value = header.GetValueBytes() switch
            {
                null => string.Empty,
                { } bytes when values is not null => values.Decode(name, bytes),
                { } bytes => Encoding.UTF8.GetString(bytes),
            };
            // The last value of a repeated header wins, as Kafka's own header lookups do.
            result[name] = value;
            if (name == MessageHeaders.MessageId)
            {
                id = value;
            }
            else if (name == MessageHeaders.ContentType && id is not null)
            {
                // Where the codec writes the correlation id (right after the content type), so that the headers enumerate
                // in the order they had before the sender left it off; a correlation id on the record overwrites it in place.
                result.TryAdd(MessageHeaders.CorrelationId, id);
            }
        }

        if (id is not null)
        {
            result.TryAdd(MessageHeaders.CorrelationId, id);
        }

        if (key is { Length: > 0 })
        {
            // The codec writes the partition key last.
            result.TryAdd(MessageHeaders.PartitionKey, key);
        }

        return result;
    }

    /// <summary>The body as an array for the client: the body's own array when it is exactly that (the codec's bodies are), else a copy.</summary>
    public static byte[] Bytes(ReadOnlyMemory<byte> body)
        => MemoryMarshal.TryGetArray(body, out ArraySegment<byte> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : body.ToArray();

    public static byte[]? Key(string? partitionKey) => partitionKey is null ? null : Encoding.UTF8.GetBytes(partitionKey);

    public static string? Key(byte[]? key) => key is null ? null : Encoding.UTF8.GetString(key);

    /// <summary>A record as the bus's message: its key as the partition key, its headers with the derivable ones restored.</summary>
    public static TransportMessage ToMessage(string destination, ConsumeResult<byte[]?, byte[]?> record, KafkaHeaderValues? values = null)
    {
        string? key = Key(record.Message.Key);
        return new TransportMessage
        {
            Destination = destination,
            Headers = FromHeaders(record.Message.Headers, key, values),
            Body = record.Message.Value ?? [],
            PartitionKey = key,
        };
    }

    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static long? ParseLong(string? value) => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : null;
}
