using Microsoft.Extensions.Logging;

namespace Switchboard.AmazonSqs;

/// <summary>The SQS transport's log messages. Credentials never appear: only queue names, message ids and exception types.</summary>
internal static partial class SqsLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Message {MessageId} on SQS queue {Queue} has been leased for {HeldSeconds} s, the lease limit (MaxLeaseDuration, SQS allows at most 12 hours from the receive): the lease is no longer extended, and the message becomes visible again after its last extension ends, possibly while its handler still runs.")]
    public static partial void LeaseLimitReached(ILogger logger, string messageId, string queue, long heldSeconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Extending the leases of {Count} message(s) on SQS queue {Queue} failed; trying again at the next tick.")]
    public static partial void LeaseExtensionFailed(ILogger logger, int count, string queue, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "SQS queue {Queue} no longer exists (the service or an operator deleted it); creating it again.")]
    public static partial void QueueRecreated(ILogger logger, string queue);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Returning {Count} unsettled message(s) to SQS queue {Queue} failed; they become visible when their lease ends.")]
    public static partial void ReleaseFailed(ILogger logger, int count, string queue, Exception exception);
}
