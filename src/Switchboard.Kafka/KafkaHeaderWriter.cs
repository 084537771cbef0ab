using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;

namespace Switchboard.Kafka;

/// <summary>
/// Turns an outgoing message's headers into Kafka record headers. The CloudEvents attributes whose value is the same on
/// every message of one type (spec version, type, source, content type) are encoded to UTF-8 once per transport and their
/// header objects shared by every record that carries them (Confluent.Kafka only reads a header's bytes, to copy them into
/// librdkafka); the others (id, time, trace context, ...) are encoded per message. Two headers are left off when a receiver
/// can derive them (<see cref="KafkaWire.IsDerivable"/>; <see cref="KafkaWire.FromHeaders"/> restores them).
/// </summary>
internal sealed class KafkaHeaderWriter
{
    // The cached values come from the bus's type registry, its name and its serializer: few. A value past the bound (a
    // header set by hand to ever-changing values, say) is encoded per message like any other.
    private const int MaxCached = 1024;
    private readonly ConcurrentDictionary<(string Name, string Value), Header> _constant = new();

    /// <summary>The record headers of a message whose record key is <paramref name="partitionKey"/>.</summary>
    public Headers ToHeaders(IReadOnlyDictionary<string, string> headers, string? partitionKey)
    {
        Headers result = [];
        if (headers is Dictionary<string, string> dictionary)
        {
            // The codec's headers: enumerated without boxing the enumerator.
            string? id = dictionary.GetValueOrDefault(MessageHeaders.MessageId);
            foreach (KeyValuePair<string, string> header in dictionary)
            {
                if (!KafkaWire.IsDerivable(header.Key, header.Value, id, partitionKey))
                {
                    result.Add(ToHeader(header.Key, header.Value));
                }
            }
        }
        else
        {
            string? id = headers.GetValueOrDefault(MessageHeaders.MessageId);
            foreach ((string name, string value) in headers)
            {
                if (!KafkaWire.IsDerivable(name, value, id, partitionKey))
                {
                    result.Add(ToHeader(name, value));
                }
            }
        }

        return result;
    }

    private Header ToHeader(string name, string value)
        => IsConstantPerType(name) ? Constant(name, value) : new Header(name, Encoding.UTF8.GetBytes(value));

    /// <summary>Whether a header's value is the same on every message of one type (the CloudEvents spec version, type, source and content type).</summary>
    public static bool IsConstantPerType(string name)
        => name is MessageHeaders.SpecVersion or MessageHeaders.MessageType or MessageHeaders.Source or MessageHeaders.ContentType;

    private Header Constant(string name, string value)
    {
        if (_constant.TryGetValue((name, value), out Header? header))
        {
            return header;
        }

        header = new Header(name, Encoding.UTF8.GetBytes(value));
        return _constant.Count < MaxCached ? _constant.GetOrAdd((name, value), header) : header;
    }
}
