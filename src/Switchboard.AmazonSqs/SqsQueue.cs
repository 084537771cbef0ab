using Amazon.SQS.Model;

namespace Switchboard.AmazonSqs;

/// <summary>One queue the transport uses: its URL, the size SQS accepts, and the batchers of its sends and deletes.</summary>
internal sealed class SqsQueue
{
    public SqsQueue(string name, string url, int maxMessageSize)
    {
        Name = name;
        Url = url;
        MaxMessageSize = maxMessageSize;
    }

    public string Name { get; }

    public string Url { get; }

    /// <summary>Gets the queue's <c>MaximumMessageSize</c>: body plus attributes of one message, and of a whole batch request.</summary>
    public int MaxMessageSize { get; }

    public SqsBatcher<SendEntry> Sender { get; set; } = null!;

    public SqsBatcher<string> Deleter { get; set; } = null!;
}

/// <summary>One message of a <c>SendMessageBatch</c>; <paramref name="DelaySeconds"/> hides it for that long (standard queues, at most 900).</summary>
internal sealed record SendEntry(SqsWire.Encoded Encoded, string MessageId, string? GroupId, string? DeduplicationId, int DelaySeconds = 0)
{
    public SendMessageBatchRequestEntry ToEntry(string id) => new()
    {
        Id = id,
        MessageBody = Encoded.Body,
        MessageAttributes = Encoded.Attributes,
        MessageGroupId = GroupId,
        MessageDeduplicationId = DeduplicationId,
        DelaySeconds = DelaySeconds > 0 ? DelaySeconds : null,
    };

    /// <summary>The message as an error names it: its type (when it has one) and its id.</summary>
    public string Describe()
        => Encoded.Attributes.TryGetValue(MessageHeaders.MessageType, out MessageAttributeValue? type) && type.StringValue is { Length: > 0 } name
            ? $"'{name}' ({MessageId})"
            : $"'{MessageId}'";
}
