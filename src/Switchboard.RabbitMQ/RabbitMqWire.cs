using System.Globalization;
using System.Text;
using RabbitMQ.Client;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

/// <summary>Queue names and the mapping of a <see cref="TransportMessage"/> onto AMQP properties and headers.</summary>
internal static class RabbitMqWire
{
    /// <summary>Deliveries before this one (retries carried over by republishing), on a message in the delay or main queue.</summary>
    public const string Attempts = "x-switchboard-attempts";
    /// <summary>The prefix of the dead-letter headers written before the schema moved to core (<see cref="DeadLetterHeaders"/>); removed on replay.</summary>
    public const string LegacyDeadLetterPrefix = "x-switchboard-dlq-";
    public const string Destination = "x-switchboard-destination";
    public const string PartitionKey = "x-switchboard-partition-key";

    public static string Queue(string destination, string group) => $"{destination}.{group}";

    public static string DelayQueue(string destination, string group) => $"{destination}.{group}.delay";

    public static string DeadLetterQueue(string destination, string group) => $"{destination}.{group}.dlq";

    /// <summary>Builds persistent properties carrying every header of <paramref name="message"/>.</summary>
    public static BasicProperties ToProperties(TransportMessage message)
    {
        Dictionary<string, object?> headers = new(message.Headers.Count + 2, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> header in message.Headers)
        {
            headers[header.Key] = header.Value;
        }

        headers[Destination] = message.Destination;
        if (message.PartitionKey is not null)
        {
            headers[PartitionKey] = message.PartitionKey;
        }

        BasicProperties properties = new()
        {
            Persistent = true,
            Headers = headers,
        };
        string id = message.MessageId;
        if (id.Length > 0)
        {
            properties.MessageId = id;
        }

        if (message.GetHeader(MessageHeaders.ContentType) is { } contentType)
        {
            properties.ContentType = contentType;
        }

        return properties;
    }

    private static bool IsTransportHeader(string key)
        => key.StartsWith("x-switchboard-", StringComparison.Ordinal)
            || key is "x-death" or "x-delivery-count" or "x-received-from"
            || key.StartsWith("x-first-death-", StringComparison.Ordinal)
            || key.StartsWith("x-last-death-", StringComparison.Ordinal);

    /// <summary>Copies properties for a republish (retry, dead letter, replay), so the original's headers are kept.</summary>
    public static BasicProperties Copy(IReadOnlyBasicProperties source)
    {
        BasicProperties copy = new(source)
        {
            Persistent = true,
            Headers = source.Headers is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : new Dictionary<string, object?>(source.Headers, StringComparer.Ordinal),
        };
        copy.ClearExpiration();
        return copy;
    }

    /// <summary>
    /// Reads a message back: application headers are all but Switchboard's own (<c>x-switchboard-</c>) and those the broker
    /// adds (<c>x-death</c>, <c>x-first-death-*</c>, <c>x-last-death-*</c>, <c>x-delivery-count</c>, <c>x-received-from</c>);
    /// an application's own <c>x-</c> header (<c>x-tenant</c>) travels like any other.
    /// </summary>
    public static TransportMessage ToMessage(string fallbackDestination, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        Dictionary<string, string> headers = new(StringComparer.Ordinal);
        string destination = fallbackDestination;
        string? partitionKey = null;
        if (properties.Headers is { } amqpHeaders)
        {
            foreach (KeyValuePair<string, object?> header in amqpHeaders)
            {
                if (IsTransportHeader(header.Key))
                {
                    if (header.Key == Destination && AsString(header.Value) is { } d)
                    {
                        destination = d;
                    }
                    else if (header.Key == PartitionKey)
                    {
                        partitionKey = AsString(header.Value);
                    }

                    continue;
                }

                if (AsString(header.Value) is { } value)
                {
                    headers[header.Key] = value;
                }
            }
        }

        if (!headers.ContainsKey(MessageHeaders.MessageId) && properties.MessageId is { Length: > 0 } messageId)
        {
            headers[MessageHeaders.MessageId] = messageId;
        }

        return new TransportMessage { Destination = destination, Headers = headers, Body = body, PartitionKey = partitionKey };
    }

    public static string? GetString(IReadOnlyBasicProperties properties, string name)
        => properties.Headers is { } headers && headers.TryGetValue(name, out object? value) ? AsString(value) : null;

    public static long? GetLong(IReadOnlyBasicProperties properties, string name)
    {
        if (properties.Headers is null || !properties.Headers.TryGetValue(name, out object? value))
        {
            return null;
        }

        return value switch
        {
            long l => l,
            int i => i,
            short s => s,
            byte b => b,
            sbyte sb => sb,
            uint ui => ui,
            ushort us => us,
            _ => AsString(value) is { } text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : null,
        };
    }

    private static string? AsString(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        null => null,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };
}
