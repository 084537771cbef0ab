using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// The mapping of a <see cref="TransportMessage"/> onto an SQS message: the body as text (UTF-8 as it is, or base64 with
/// <see cref="BodyEncoding"/> when the bytes are not text SQS accepts), the headers as string message attributes under
/// their own (CloudEvents) names. SQS allows 10 attributes per message: the first nine by <see cref="Priority"/> stay
/// attributes, the rest travel together as JSON in <see cref="PackedHeaders"/>. Unless each header is asked for as an
/// attribute of its own (<see cref="SqsTransportOptions.HeadersAsAttributes"/>, and always for a dead letter, whose reason
/// an operator reads in the console), every header travels in <see cref="PackedHeaders"/>: one attribute costs the client
/// (the SDK hashes each attribute on send and checks each on receive) and SQS much less per message than seven.
/// <see cref="ReadHeaders"/> reads both forms.
/// </summary>
internal static partial class SqsWire
{
    public const string BodyEncoding = "sb-body-encoding";
    public const string PackedHeaders = "sb-headers";
    public const string PartitionKey = "sb-partition-key";
    public const string DeadLetterReason = "sb-dlq-reason";
    public const string DeadLetterExceptionType = "sb-dlq-exception-type";
    public const string DeadLetterExceptionDetails = "sb-dlq-exception-details";
    public const string DeadLetterAttempts = "sb-dlq-attempts";
    public const string DeadLetterAt = "sb-dlq-at";
    public const string DeadLetterGroup = "sb-dlq-group";
    public const string DeadLetterDestination = "sb-dlq-destination";

    /// <summary>On a retry sent as a delayed copy: how many times the message was delivered before this copy (SQS counts each copy from 1).</summary>
    public const string EarlierDeliveries = "sb-earlier-deliveries";
    private const int MaxAttributes = 10;

    /// <summary>The control characters SQS refuses in a body (all below #x20 except tab, line feed and carriage return).</summary>
    private static readonly SearchValues<byte> RefusedControlBytes = SearchValues.Create([0, 1, 2, 3, 4, 5, 6, 7, 8, 0xB, 0xC, 0xE, 0xF, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F]);

    /// <summary>Headers only the transport reads: taken out of a received message's headers.</summary>
    private static readonly string[] TransportOwnNames =
    [
        EarlierDeliveries, DeadLetterReason, DeadLetterExceptionType, DeadLetterExceptionDetails, DeadLetterAttempts, DeadLetterAt, DeadLetterGroup, DeadLetterDestination,
    ];
    private const int MaxExceptionDetails = 4096;

    /// <summary>The headers kept as attributes of their own first: what another service or the console reads.</summary>
    private static readonly string[] Priority =
    [
        MessageHeaders.MessageId, MessageHeaders.MessageType, MessageHeaders.ContentType, DeadLetterReason,
        DeadLetterExceptionType, DeadLetterAttempts, MessageHeaders.CorrelationId, MessageHeaders.TraceParent, PartitionKey,
    ];

    /// <summary>An SQS message ready to send: its body, its attributes, the size SQS counts, and its message type for errors.</summary>
    public sealed record Encoded(string Body, Dictionary<string, MessageAttributeValue> Attributes, int Size, string? MessageType = null);

    public static Encoded Encode(TransportMessage message, IReadOnlyDictionary<string, string>? extra = null, bool headersAsAttributes = true, bool headersInBody = false)
    {
        if (extra is null && !headersAsAttributes)
        {
            return headersInBody ? EncodeEnvelope(message) : EncodePacked(message);
        }

        Dictionary<string, string> headers = new(message.Headers, StringComparer.Ordinal);
        if (message.PartitionKey is not null)
        {
            headers[PartitionKey] = message.PartitionKey;
        }

        if (extra is not null)
        {
            foreach (KeyValuePair<string, string> pair in extra)
            {
                headers[pair.Key] = pair.Value;
            }
        }

        string body;
        if (IsSqsText(message.Body.Span))
        {
            body = Encoding.UTF8.GetString(message.Body.Span);
        }
        else
        {
            body = Convert.ToBase64String(message.Body.Span);
            headers[BodyEncoding] = "base64";
        }

        Dictionary<string, MessageAttributeValue> attributes = new(StringComparer.Ordinal);
        List<string> names = new(headers.Count);
        foreach (string name in Priority)
        {
            if (headers.ContainsKey(name))
            {
                names.Add(name);
            }
        }

        List<string> rest = [];
        foreach (string name in headers.Keys)
        {
            if (Array.IndexOf(Priority, name) < 0)
            {
                rest.Add(name);
            }
        }

        rest.Sort(StringComparer.Ordinal);
        names.AddRange(rest);
        int size = Encoding.UTF8.GetByteCount(body);
        Dictionary<string, string>? packed = null;
        foreach (string name in names)
        {
            bool fits = names.Count <= MaxAttributes ? attributes.Count < MaxAttributes : attributes.Count < MaxAttributes - 1;
            if (headersAsAttributes && fits && IsAttributeName(name) && headers[name].Length > 0)
            {
                attributes[name] = new MessageAttributeValue { DataType = "String", StringValue = headers[name] };
                size += AttributeSize(name, headers[name]);
            }
            else
            {
                (packed ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = headers[name];
            }
        }

        if (packed is not null)
        {
            string json = JsonSerializer.Serialize(packed, SqsJsonContext.Default.DictionaryStringString);
            attributes[PackedHeaders] = new MessageAttributeValue { DataType = "String", StringValue = json };
            size += AttributeSize(PackedHeaders, json);
        }

        return new Encoded(body, attributes, size, headers.GetValueOrDefault(MessageHeaders.MessageType));
    }

    /// <summary>The headers of a received message: its attributes, unpacked, without the transport's own.</summary>
    public static Dictionary<string, string> ReadHeaders(Message received)
    {
        // Sized as it goes (the packed headers make room for themselves at once): no larger than the message needs.
        Dictionary<string, string> headers = new(received.MessageAttributes?.Count ?? 0, StringComparer.Ordinal);
        if (received.MessageAttributes is { } attributes)
        {
            foreach (KeyValuePair<string, MessageAttributeValue> attribute in attributes)
            {
                if (attribute.Value.StringValue is not { } value)
                {
                    continue;
                }

                if (attribute.Key == PackedHeaders)
                {
                    ReadPacked(value, headers);
                }
                else
                {
                    headers[attribute.Key] = value;
                }
            }
        }

        if (IsEnvelope(received.Body))
        {
            // Read once here; Decode picks the payload up (same thread, next call) instead of parsing the body again.
            t_envelopeBody = received.Body;
            t_envelopeData = ReadEnvelope(received.Body!, headers);
        }

        return headers;
    }

    [ThreadStatic]
    private static string? t_envelopeBody;

    [ThreadStatic]
    private static byte[]? t_envelopeData;

    /// <summary>The payload of an envelope body (read by <see cref="ReadHeaders"/> just before), or <see langword="null"/> for a plain body.</summary>
    private static byte[]? EnvelopePayload(Message received)
    {
        if (!IsEnvelope(received.Body))
        {
            return null;
        }

        if (ReferenceEquals(t_envelopeBody, received.Body))
        {
            byte[]? data = t_envelopeData;
            t_envelopeBody = null;
            t_envelopeData = null;
            return data;
        }

        return ReadEnvelope(received.Body!, null);
    }

    /// <summary>Reads a message back into a <see cref="TransportMessage"/>; the transport's own headers are taken out.</summary>
    public static TransportMessage Decode(string destination, Message received, Dictionary<string, string> headers)
    {
        byte[] body;
        if (EnvelopePayload(received) is { } payload)
        {
            body = payload;
        }
        else if (headers.Remove(BodyEncoding, out string? encoding) && encoding == "base64")
        {
            body = Convert.FromBase64String(received.Body ?? string.Empty);
        }
        else
        {
            body = Encoding.UTF8.GetBytes(received.Body ?? string.Empty);
        }

        headers.Remove(PartitionKey, out string? partitionKey);
        foreach (string name in TransportOwnNames)
        {
            headers.Remove(name);
        }

        if (!headers.ContainsKey(MessageHeaders.MessageId) && received.MessageId is { Length: > 0 } id)
        {
            // A message another producer sent without Switchboard's headers: its SQS id identifies it.
            headers[MessageHeaders.MessageId] = id;
        }

        return new TransportMessage { Destination = destination, Headers = headers, Body = body, PartitionKey = partitionKey };
    }

    /// <summary>Takes the count of deliveries before a retried copy out of its headers (0 for a message sent once).</summary>
    public static int TakeEarlierDeliveries(Dictionary<string, string> headers)
        => headers.Remove(EarlierDeliveries, out string? text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int earlier) && earlier > 0 ? earlier : 0;

    /// <summary>The attributes that describe a dead-letter entry; the exception's details are cut to 4 KiB.</summary>
    public static Dictionary<string, string> DeadLetterHeaders(DeadLetterReason reason, string destination, string group, DateTimeOffset at)
    {
        string details = reason.ExceptionDetails ?? string.Empty;
        if (details.Length > MaxExceptionDetails)
        {
            details = details[..MaxExceptionDetails] + "…";
        }

        Dictionary<string, string> headers = new(StringComparer.Ordinal)
        {
            [DeadLetterReason] = reason.Reason,
            [DeadLetterAttempts] = reason.Attempts.ToString(CultureInfo.InvariantCulture),
            [DeadLetterAt] = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            [DeadLetterGroup] = group,
            [DeadLetterDestination] = destination,
        };
        if (reason.ExceptionType is { Length: > 0 } type)
        {
            headers[DeadLetterExceptionType] = type;
        }

        if (details.Length > 0)
        {
            headers[DeadLetterExceptionDetails] = details;
        }

        return headers;
    }

    /// <summary>What SQS counts toward a message's size for one string attribute: name, data type and value.</summary>
    private static int AttributeSize(string name, string value) => Encoding.UTF8.GetByteCount(name) + "String".Length + Encoding.UTF8.GetByteCount(value);

    /// <summary>SQS attribute names: letters, digits, '-', '_', '.', at most 256, not starting with AWS. or Amazon.</summary>
    private static bool IsAttributeName(string name)
    {
        if (name.Length is 0 or > 256 || name.StartsWith("AWS.", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Amazon.", StringComparison.OrdinalIgnoreCase)
            || name[0] == '.' || name[^1] == '.' || name.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the bytes are UTF-8 text of the characters SQS accepts in a body (#x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD, and above #x10000).</summary>
    private static bool IsSqsText(ReadOnlySpan<byte> bytes)
    {
        // A control byte is never part of a longer UTF-8 sequence: one anywhere is a character SQS refuses.
        if (bytes.IndexOfAny(RefusedControlBytes) >= 0)
        {
            return false;
        }

        if (Ascii.IsValid(bytes))
        {
            return true; // the usual JSON body, checked in one vectorized pass
        }

        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            int v = rune.Value;
            bool allowed = v is 0x9 or 0xA or 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000;
            if (!allowed)
            {
                return false;
            }

            bytes = bytes[consumed..];
        }

        return true;
    }
}
