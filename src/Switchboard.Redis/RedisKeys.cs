using StackExchange.Redis;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>Key names and the stream-entry layout: one place, so the transport, its receivers and the dead-letter queue agree.</summary>
internal static class RedisKeys
{
    public const string Body = "body";
    public const string PartitionKey = "key";
    public const string HeaderPrefix = "h:";

    /// <summary>The stream every consumer group of a destination reads.</summary>
    public static RedisKey Stream(string prefix, string destination) => $"{prefix}:{destination}";

    /// <summary>A stream only one group reads: replayed dead letters come back through it, so other groups do not get them twice.</summary>
    public static RedisKey GroupStream(string prefix, string destination, string group) => $"{prefix}:{destination}:{group}:replay";

    /// <summary>The dead-letter stream of one group.</summary>
    public static RedisKey DeadLetters(string prefix, string destination, string group) => $"{prefix}:{destination}:{group}:dlq";

    /// <summary>The channel senders publish to after <c>XADD</c>, so idle receivers read at once instead of at their next poll.</summary>
    public static RedisChannel Notify(string prefix, string destination) => RedisChannel.Literal($"{prefix}:{destination}:notify");

    public static NameValueEntry[] ToFields(TransportMessage message, int extra = 0)
    {
        int count = message.Headers.Count + 1 + (message.PartitionKey is null ? 0 : 1);
        NameValueEntry[] fields = new NameValueEntry[count + extra];
        int i = 0;
        fields[i++] = new NameValueEntry(Body, message.Body);
        if (message.PartitionKey is not null)
        {
            fields[i++] = new NameValueEntry(PartitionKey, message.PartitionKey);
        }

        foreach (KeyValuePair<string, string> header in message.Headers)
        {
            fields[i++] = new NameValueEntry(HeaderPrefix + header.Key, header.Value);
        }

        return fields;
    }

    public static TransportMessage ToMessage(string destination, NameValueEntry[] fields)
    {
        Dictionary<string, string> headers = new(fields.Length, StringComparer.Ordinal);
        ReadOnlyMemory<byte> body = ReadOnlyMemory<byte>.Empty;
        string? key = null;
        foreach (NameValueEntry field in fields)
        {
            string name = field.Name.ToString();
            if (name == Body)
            {
                body = (byte[]?)field.Value ?? [];
            }
            else if (name == PartitionKey)
            {
                key = field.Value.ToString();
            }
            else if (name.StartsWith(HeaderPrefix, StringComparison.Ordinal))
            {
                headers[name[HeaderPrefix.Length..]] = field.Value.ToString();
            }
        }

        return new TransportMessage { Destination = destination, Headers = headers, Body = body, PartitionKey = key };
    }

    public static bool IsNoGroup(RedisServerException ex) => ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal);
}
