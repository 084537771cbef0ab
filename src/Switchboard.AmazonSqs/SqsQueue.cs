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

    /// <summary>How long a partial <c>DeleteMessageBatch</c> waits at most for the acknowledgements of messages still being handled.</summary>
    public static readonly TimeSpan DeleteLinger = TimeSpan.FromMilliseconds(10);

    private int _handedOut;

    /// <summary>Gets whether messages of this queue are with the bus and not yet settled: their deletes may be coming.</summary>
    public bool DeletesExpected => Volatile.Read(ref _handedOut) > 0;

    /// <summary>A received message went to the bus.</summary>
    public void HandedOut() => Interlocked.Increment(ref _handedOut);

    /// <summary>A message the bus had is being settled; when it was the last one, a delete waiting for more goes now.</summary>
    public void Returned()
    {
        if (Interlocked.Decrement(ref _handedOut) <= 0)
        {
            Deleter.Nudge();
        }
    }
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
        => Encoded.MessageType is { Length: > 0 } name
            ? $"'{name}' ({MessageId})"
            : $"'{MessageId}'";
}
