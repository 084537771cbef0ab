using System.Buffers;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// The default form of a message (<see cref="SqsTransportOptions.HeadersInBody"/>): one JSON envelope in the body and no
/// message attribute at all, <c>{"sb-envelope":1,"headers":{...},"data":...}</c>, the payload as it is when it is JSON
/// (<c>data</c>) and base64 otherwise (<c>data_base64</c>). Each message attribute costs the SDK a hash on send and a check
/// on receive and the server its own work; measured on the emulator, one attribute cost a raw loop a third of its rate,
/// the same headers in the body a few percent. Receivers read every form (envelope, packed attribute, one attribute per
/// header), so services can differ in the setting; a body without the marker is a plain payload.
/// </summary>
internal static partial class SqsWire
{
    public const string EnvelopeMarker = "sb-envelope";
    private const string EnvelopeHeaders = "headers";
    private const string EnvelopeData = "data";
    private const string EnvelopeDataBase64 = "data_base64";

    private static readonly byte[] EnvelopePrefix = Encoding.UTF8.GetBytes("{\"" + EnvelopeMarker + "\":1,");

    /// <summary>Encodes a message as an envelope in its body, without attributes; <paramref name="base64"/> forces <c>data_base64</c>.</summary>
    private static Encoded EncodeEnvelope(TransportMessage message, bool base64 = false)
    {
        ReadOnlySpan<byte> bytes = message.Body.Span;
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        Utf8JsonWriter writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteNumber(EnvelopeMarker, 1);
        writer.WriteStartObject(EnvelopeHeaders);
        string? type = null;
        string? contentType = null;
        foreach (KeyValuePair<string, string> header in message.Headers)
        {
            if (header.Key == BodyEncoding || (header.Key == PartitionKey && message.PartitionKey is not null))
            {
                continue;
            }

            if (header.Key == MessageHeaders.MessageType)
            {
                type = header.Value;
            }
            else if (header.Key == MessageHeaders.ContentType)
            {
                contentType = header.Value;
            }

            writer.WriteString(header.Key, header.Value);
        }

        if (message.PartitionKey is { } key)
        {
            writer.WriteString(PartitionKey, key);
        }

        writer.WriteEndObject();
        if (!base64 && IsJsonContent(contentType) && IsValidJson(bytes))
        {
            writer.WritePropertyName(EnvelopeData);
            writer.WriteRawValue(bytes, skipInputValidation: true);
        }
        else
        {
            base64 = true;
            writer.WriteBase64String(EnvelopeDataBase64, bytes);
        }

        writer.WriteEndObject();
        writer.Flush();
        ReadOnlySpan<byte> written = buffer.WrittenSpan;
        if (!base64 && !IsSqsText(written))
        {
            // A JSON payload with a character SQS refuses (U+FFFE, say): the same envelope with the payload in base64.
            // (Everything else the writer wrote is ASCII: it escapes the rest.)
            return EncodeEnvelope(message, base64: true);
        }

        string body = Encoding.UTF8.GetString(written);
        int size = written.Length;
        ReleaseLargeBuffer(buffer);
        return new Encoded(body, new Dictionary<string, MessageAttributeValue>(0, StringComparer.Ordinal), size, type);
    }

    private static void ReleaseLargeBuffer(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > 64 * 1024)
        {
            // A rare large message: do not keep its buffer for the life of the thread.
            t_buffer = null;
            t_writer = null;
        }
    }

    /// <summary>Whether a received body is an envelope (it starts with the marker this transport writes first).</summary>
    private static bool IsEnvelope(string? body)
        => body is { Length: > 16 } && body[0] == '{' && body[1] == '"' && body.AsSpan(2).StartsWith(EnvelopeMarker, StringComparison.Ordinal);

    /// <summary>
    /// Reads an envelope's headers into <paramref name="headers"/> and returns its payload; <see langword="null"/> when the
    /// body is not a well-formed envelope (then it is taken as a plain payload, and the bus reports what is missing).
    /// </summary>
    private static byte[]? ReadEnvelope(string body, Dictionary<string, string>? headers)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(body);
        if (!utf8.AsSpan().StartsWith(EnvelopePrefix))
        {
            return null;
        }

        List<KeyValuePair<string, string>> read = t_read ??= new List<KeyValuePair<string, string>>(16);
        read.Clear();
        try
        {
            Utf8JsonReader reader = new(utf8);
            reader.Read(); // {
            byte[]? data = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(EnvelopeHeaders))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return null;
                    }

                    if (headers is null)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string name = KnownName(ref reader) ?? reader.GetString()!;
                        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                        {
                            return null;
                        }

                        read.Add(new KeyValuePair<string, string>(name, reader.GetString()!));
                    }
                }
                else if (reader.ValueTextEquals(EnvelopeData))
                {
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    data = utf8.AsSpan(start, (int)reader.BytesConsumed - start).ToArray();
                }
                else if (reader.ValueTextEquals(EnvelopeDataBase64))
                {
                    reader.Read();
                    data = reader.GetBytesFromBase64();
                }
                else
                {
                    reader.Read();
                    reader.Skip(); // the marker, or a member a later version adds
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return null;
            }

            // All or nothing: a body that fails half-way is a plain payload, without half of its headers.
            if (headers is not null)
            {
                headers.EnsureCapacity(headers.Count + read.Count);
                foreach (KeyValuePair<string, string> pair in read)
                {
                    headers[pair.Key] = pair.Value;
                }
            }

            return data ?? [];
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
        finally
        {
            read.Clear();
        }
    }

    private static bool IsJsonContent(string? contentType)
        => contentType is not null
           && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
               || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase));

    private static bool IsValidJson(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return false;
        }

        try
        {
            Utf8JsonReader reader = new(bytes);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
