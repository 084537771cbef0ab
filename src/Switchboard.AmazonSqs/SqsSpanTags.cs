namespace Switchboard.AmazonSqs;

/// <summary>
/// A received SQS message described in the OpenTelemetry conventions for AWS SQS: the bus's receive span names the system
/// <c>aws_sqs</c>, the physical queue (<c>messaging.destination.name</c>, <c>aws.sqs.queue.url</c>) and SQS's own message id
/// (<c>messaging.message.id</c>); the envelope's id stays on the span as <c>switchboard.message.id</c>.
/// </summary>
internal sealed partial class SqsReceived
{
    /// <summary>The value of <c>messaging.system</c> the OpenTelemetry conventions give SQS.</summary>
    public const string SemanticSystemName = "aws_sqs";

    /// <summary>Gets SQS's id of this message (each copy SQS stores has its own).</summary>
    public string? SqsMessageId { get; init; }

    /// <summary>Gets the queue it was received from.</summary>
    public SqsQueue? Queue { get; init; }

    /// <inheritdoc />
    public override IReadOnlyList<KeyValuePair<string, object?>> TransportTags
    {
        get
        {
            List<KeyValuePair<string, object?>> tags = [new("messaging.system", SemanticSystemName)];
            if (Queue is not null)
            {
                tags.Add(new("messaging.destination.name", Queue.Name));
                tags.Add(new("aws.sqs.queue.url", Queue.Url));
            }

            if (SqsMessageId is { Length: > 0 } id)
            {
                tags.Add(new("messaging.message.id", id));
            }

            tags.Add(new("switchboard.message.id", Message.MessageId));
            return tags;
        }
    }
}
