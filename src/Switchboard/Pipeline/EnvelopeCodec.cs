using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Switchboard.Routing;
using Switchboard.Serialization;
using Switchboard.Transport;

namespace Switchboard.Pipeline;

/// <summary>
/// Turns a message and its metadata into a <see cref="TransportMessage"/> with CloudEvents headers, and back. The way
/// back resolves the type only through the allow-list.
/// </summary>
internal sealed class EnvelopeCodec(MessageTypeRegistry types, IMessageSerializer serializer, string source, TimeProvider time, int maxBytes, PartitionKeys partitionKeys)
{
    public IMessageSerializer Serializer => serializer;

    public TransportMessage Encode(object message, string destination, in MessageMetadata metadata, string? replyTo, TimeSpan? responseTtl, string? partitionKey)
    {
        Type type = message.GetType();
        byte[] body = Serialize(message, type);

        string id = metadata.MessageId ?? MessageIds.New();
        // Sized for the seven standard headers and a few optional ones below: allocated once instead of growing twice.
        Dictionary<string, string> headers = new(9 + (metadata.Headers?.Count ?? 0), StringComparer.Ordinal)
        {
            [MessageHeaders.SpecVersion] = MessageHeaders.SpecVersionValue,
            [MessageHeaders.MessageId] = id,
            [MessageHeaders.MessageType] = types.GetName(type),
            [MessageHeaders.Source] = source,
            [MessageHeaders.Time] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            [MessageHeaders.ContentType] = serializer.ContentType,
            [MessageHeaders.CorrelationId] = metadata.CorrelationId ?? id,
        };

        if (metadata.CausationId is not null)
        {
            headers[MessageHeaders.CausationId] = metadata.CausationId;
        }

        if (metadata.Headers is not null)
        {
            foreach ((string key, string value) in metadata.Headers)
            {
                headers.TryAdd(key, value);
            }
        }

        if (replyTo is not null)
        {
            headers[MessageHeaders.ReplyTo] = replyTo;
            if (responseTtl is { } ttl)
            {
                headers[MessageHeaders.ResponseTtl] = ((long)Math.Ceiling(ttl.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }
        }

        if (Activity.Current is { } activity)
        {
            headers[MessageHeaders.TraceParent] = activity.Id!;
            if (activity.TraceStateString is { Length: > 0 } state)
            {
                headers[MessageHeaders.TraceState] = state;
            }
        }

        if (message is DomainEvent { AggregateType.Length: > 0 } domainEvent)
        {
            headers[MessageHeaders.AggregateType] = domainEvent.AggregateType;
        }

        partitionKey ??= partitionKeys.For(message);
        if (partitionKey is not null)
        {
            headers[MessageHeaders.PartitionKey] = partitionKey;
        }

        return new TransportMessage
        {
            Destination = destination,
            Headers = headers,
            Body = body,
            PartitionKey = partitionKey,
        };
    }

    // The serializer writes into a buffer of this thread's, reused; the body is an exact copy of what was written. (A body
    // that is a slice of a fresh 256-byte buffer cost a buffer per message, and transports that need an array copied it.)
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private byte[] Serialize(object message, Type type)
    {
        ArrayBufferWriter<byte> buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        t_buffer = null; // taken: a serializer that encodes another message meanwhile gets a buffer of its own
        try
        {
            serializer.Serialize(message, type, buffer);
            if (buffer.WrittenCount > maxBytes)
            {
                throw new MessageTooLargeException(
                    $"{type.Name} is {buffer.WrittenCount} bytes serialized; the limit is {maxBytes} bytes (BusOptions.MaxMessageBytes). Send a reference to large data instead of the data.");
            }

            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            buffer.ResetWrittenCount();
            if (buffer.Capacity <= MaxKeptBuffer)
            {
                t_buffer = buffer; // a large message's buffer is not kept by the thread
            }
        }
    }

    private const int MaxKeptBuffer = 16 * 1024;

    /// <summary>Reads a received message; on failure returns the reason to dead-letter it with.</summary>
    public bool TryDecode(TransportMessage received, int attempt, out Decoded decoded, out string? failure)
    {
        decoded = default;
        if (received.Body.Length > maxBytes)
        {
            failure = $"Message is {received.Body.Length} bytes; the limit is {maxBytes} bytes (BusOptions.MaxMessageBytes).";
            return false;
        }

        string? typeName = received.GetHeader(MessageHeaders.MessageType);
        if (string.IsNullOrEmpty(typeName))
        {
            failure = $"Message has no '{MessageHeaders.MessageType}' header, so its type is unknown.";
            return false;
        }

        if (!types.TryGetType(typeName, out Type? type))
        {
            failure = $"Unknown message type '{typeName}': it is not registered on this bus. Register it with AddMessageType or a handler; types are never loaded by a name from the wire.";
            return false;
        }

        object? message;
        try
        {
            message = serializer.Deserialize(received.Body.Span, type);
        }
        catch (MessageSerializationException ex)
        {
            failure = $"Malformed body for '{typeName}': {ex.Message}";
            return false;
        }

        if (message is null)
        {
            failure = $"The body of '{typeName}' is null.";
            return false;
        }

        string id = received.GetHeader(MessageHeaders.MessageId) is { Length: > 0 } header ? header : MessageIds.New();
        MessageMetadata metadata = new(
            id,
            received.GetHeader(MessageHeaders.CorrelationId) ?? id,
            received.GetHeader(MessageHeaders.CausationId),
            received.Headers,
            attempt,
            received.GetHeader(MessageHeaders.Subject));

        TimeSpan? ttl = int.TryParse(received.GetHeader(MessageHeaders.ResponseTtl), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;
        decoded = new Decoded(message, metadata, received.GetHeader(MessageHeaders.ReplyTo), ttl);
        failure = null;
        return true;
    }

    internal readonly record struct Decoded(object Message, MessageMetadata Metadata, string? ReplyTo, TimeSpan? ResponseTtl);
}
