using Microsoft.Extensions.Logging;

namespace Switchboard.AmazonSqs;

/// <summary>The log messages of retries sent as delayed copies.</summary>
internal static partial class SqsLog
{
    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "SQS did not take the delayed copy of message {MessageId} for its retry on queue {Queue}; the retry hides the message itself instead (ChangeMessageVisibility).")]
    public static partial void DelayedRetryNotSent(ILogger logger, string messageId, string queue, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "The retry of message {MessageId} on SQS queue {Queue} was sent as a delayed copy, but deleting the original failed: it is delivered again after its lease as well (the inbox makes that a no-op).")]
    public static partial void RetriedOriginalNotDeleted(ILogger logger, string messageId, string queue, Exception exception);
}
