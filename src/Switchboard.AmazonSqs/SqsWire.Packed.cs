using System.Buffers;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// The common path of every message, headers packed into <see cref="PackedHeaders"/>: written and read with
/// <see cref="Utf8JsonWriter"/> / <see cref="Utf8JsonReader"/> on a reused buffer, straight from and into the one
/// dictionary the message has, instead of a copy of the headers, a dictionary to serialize and one deserialized.
/// (Measured with the harness's allocation sampler: those copies were about 3 KB per message.)
/// </summary>
internal static partial class SqsWire
{
    /// <summary>Names the packed headers usually have: read back as these strings instead of a new one per message.</summary>
    private static readonly string[] KnownNames =
    [
        MessageHeaders.SpecVersion, MessageHeaders.MessageId, MessageHeaders.MessageType, MessageHeaders.Source, MessageHeaders.Time,
        MessageHeaders.ContentType, MessageHeaders.CorrelationId, MessageHeaders.CausationId, MessageHeaders.TraceParent,
        MessageHeaders.TraceState, MessageHeaders.ReplyTo, MessageHeaders.ResponseTtl, MessageHeaders.PartitionKey, PartitionKey, BodyEncoding,
    ];

    private static readonly byte[][] KnownNamesUtf8 = [.. KnownNames.Select(Encoding.UTF8.GetBytes)];

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static List<KeyValuePair<string, string>>? t_read;

    /// <summary>Encodes a message with every header packed into <see cref="PackedHeaders"/> (what <see cref="Encode"/> does without extra headers and without <c>headersAsAttributes</c>).</summary>
    private static Encoded EncodePacked(TransportMessage message)
    {
        ReadOnlySpan<byte> bytes = message.Body.Span;
        bool text = IsSqsText(bytes);
        string body = text ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        Utf8JsonWriter writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        string? type = null;
        foreach (KeyValuePair<string, string> header in message.Headers)
        {
            // The transport's own names are written below from what they stand for (a header of the same name loses, as before).
            if (header.Key == BodyEncoding || (header.Key == PartitionKey && message.PartitionKey is not null))
            {
                continue;
            }

            if (header.Key == MessageHeaders.MessageType)
            {
                type = header.Value;
            }

            writer.WriteString(header.Key, header.Value);
        }

        if (message.PartitionKey is { } key)
        {
            writer.WriteString(PartitionKey, key);
        }

        if (!text)
        {
            writer.WriteString(BodyEncoding, "base64");
        }

        writer.WriteEndObject();
        writer.Flush();
        string json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        // The writer escapes everything beyond ASCII: the JSON's length is its UTF-8 size. A text body is the bytes as they were.
        int size = (text ? bytes.Length : body.Length) + PackedHeaders.Length + "String".Length + buffer.WrittenCount;
        if (buffer.Capacity > 64 * 1024)
        {
            // A rare huge header set: do not keep its buffer for the life of the thread.
            t_buffer = null;
            t_writer = null;
        }

        Dictionary<string, MessageAttributeValue> attributes = new(1, StringComparer.Ordinal)
        {
            [PackedHeaders] = new MessageAttributeValue { DataType = "String", StringValue = json },
        };
        return new Encoded(body, attributes, size, type);
    }

    /// <summary>
    /// Adds the packed headers to <paramref name="headers"/>; nothing when the JSON is not an object of strings (written
    /// by someone else: the remaining headers still identify the message, and the bus reports what is missing).
    /// </summary>
    private static void ReadPacked(string json, Dictionary<string, string> headers)
    {
        byte[]? rented = null;
        int length = Encoding.UTF8.GetMaxByteCount(json.Length);
        Span<byte> utf8 = length <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(length));
        List<KeyValuePair<string, string>> read = t_read ??= new List<KeyValuePair<string, string>>(16);
        read.Clear();
        try
        {
            Utf8JsonReader reader = new(utf8[..Encoding.UTF8.GetBytes(json, utf8)]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = KnownName(ref reader) ?? reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    return;
                }

                read.Add(new KeyValuePair<string, string>(name, reader.GetString()!));
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return;
            }

            // All or nothing, as a deserialized dictionary was; room for all of them at once instead of growing twice.
            headers.EnsureCapacity(headers.Count + read.Count);
            foreach (KeyValuePair<string, string> pair in read)
            {
                headers[pair.Key] = pair.Value;
            }
        }
        catch (JsonException)
        {
            // Not JSON: as above, the packed headers are left out.
        }
        finally
        {
            read.Clear();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static string? KnownName(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return null;
        }

        ReadOnlySpan<byte> value = reader.ValueSpan;
        for (int i = 0; i < KnownNames.Length; i++)
        {
            if (value.SequenceEqual(KnownNamesUtf8[i]))
            {
                return KnownNames[i];
            }
        }

        return null;
    }
}
