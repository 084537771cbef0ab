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

    public static Headers ToHeaders(IReadOnlyDictionary<string, string> headers)
    {
        Headers result = [];
        foreach ((string key, string value) in headers)
        {
            result.Add(key, Encoding.UTF8.GetBytes(value));
        }

        return result;
    }

    public static Dictionary<string, string> FromHeaders(Headers? headers)
    {
        if (headers is null)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        Dictionary<string, string> result = new(headers.Count, StringComparer.Ordinal);

        foreach (IHeader header in headers)
        {
            // The last value of a repeated header wins, as Kafka's own header lookups do.
            result[header.Key] = header.GetValueBytes() is { } bytes ? Encoding.UTF8.GetString(bytes) : string.Empty;
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

    public static TransportMessage ToMessage(string destination, ConsumeResult<byte[]?, byte[]?> record, Dictionary<string, string>? headers = null)
        => new()
        {
            Destination = destination,
            Headers = headers ?? FromHeaders(record.Message.Headers),
            Body = record.Message.Value ?? [],
            PartitionKey = Key(record.Message.Key),
        };

    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static long? ParseLong(string? value) => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : null;
}
