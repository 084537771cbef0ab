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

/// <summary>One message of a <c>SendMessageBatch</c>.</summary>
internal sealed record SendEntry(SqsWire.Encoded Encoded, string MessageId, string? GroupId, string? DeduplicationId)
{
    public SendMessageBatchRequestEntry ToEntry(string id) => new()
    {
        Id = id,
        MessageBody = Encoded.Body,
        MessageAttributes = Encoded.Attributes,
        MessageGroupId = GroupId,
        MessageDeduplicationId = DeduplicationId,
    };
}
