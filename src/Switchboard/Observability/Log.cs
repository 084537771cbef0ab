using Microsoft.Extensions.Logging;

namespace Switchboard.Observability;

/// <summary>Every log line Switchboard writes, source-generated: no allocation when the level is off.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Handler {Handler} failed for {MessageType} (message {MessageId})")]
    public static partial void HandlerFailed(ILogger logger, string handler, string messageType, string messageId, Exception exception);

    [LoggerMessage(2, LogLevel.Error, "Background publish of {MessageType} failed")]
    public static partial void BackgroundPublishFailed(ILogger logger, string messageType, Exception exception);

    [LoggerMessage(3, LogLevel.Information, "Bus {Bus} shut down in {ElapsedMs} ms")]
    public static partial void ShutdownCompleted(ILogger logger, string bus, long elapsedMs);

    [LoggerMessage(11, LogLevel.Warning, "Bus {Bus} stopped, but disposing a handler instance it created failed")]
    public static partial void HandlerDisposeFailed(ILogger logger, string bus, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Bus {Bus} shutdown timed out after {TimeoutMs} ms with {InFlight} handler(s) in flight and {Queued} background publish(es) unfinished")]
    public static partial void ShutdownTimedOut(ILogger logger, string bus, long timeoutMs, long inFlight, long queued);

    [LoggerMessage(5, LogLevel.Warning, "Message {MessageId} from {Destination} failed on attempt {Attempt}; retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string messageId, string destination, int attempt, long delayMs, Exception? exception);

    [LoggerMessage(6, LogLevel.Error, "Message {MessageId} from {Destination} dead-lettered: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string messageId, string destination, string reason);

    [LoggerMessage(7, LogLevel.Error, "Consumer {Consumer} of {Destination} failed; restarting in {DelayMs} ms")]
    public static partial void ConsumerFaulted(ILogger logger, string consumer, string destination, long delayMs, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Consumer {Consumer} started on {Destination} (group {Group})")]
    public static partial void ConsumerStarted(ILogger logger, string consumer, string destination, string group);

    [LoggerMessage(9, LogLevel.Error, "Service {Service} failed to {Operation}")]
    public static partial void ServiceFailed(ILogger logger, string service, string operation, Exception exception);

    [LoggerMessage(10, LogLevel.Error, "Storing the response for correlation id {CorrelationId} failed")]
    public static partial void ResponseStoreFailed(ILogger logger, string correlationId, Exception exception);

    [LoggerMessage(20, LogLevel.Warning, "Outbox {Store}: dispatching row {RowId} (message {MessageId}) to {Destination} failed on attempt {Attempt}; retrying in {DelayMs} ms")]
    public static partial void OutboxDispatchFailed(ILogger logger, string store, long rowId, string messageId, string destination, int attempt, long delayMs, Exception exception);

    [LoggerMessage(21, LogLevel.Error, "Outbox {Store}: row {RowId} (message {MessageId}) parked as dead: {Reason}")]
    public static partial void OutboxDead(ILogger logger, string store, long rowId, string messageId, string reason);

    [LoggerMessage(22, LogLevel.Warning, "Outbox {Store}: the dispatcher could not reach the database; trying again in {DelayMs} ms")]
    public static partial void OutboxStoreFailed(ILogger logger, string store, long delayMs, Exception exception);

    [LoggerMessage(23, LogLevel.Debug, "Inbox {Store}: message {MessageId} was already processed by {Consumer}; skipped")]
    public static partial void InboxDuplicate(ILogger logger, string store, string messageId, string consumer);

    [LoggerMessage(24, LogLevel.Warning, "Inbox {Store}: the database is unreachable; message {MessageId} stays unacknowledged, trying again in {DelayMs} ms")]
    public static partial void InboxUnavailable(ILogger logger, string store, string messageId, long delayMs, Exception exception);

    [LoggerMessage(60, LogLevel.Warning, "Message {MessageId} from {Destination} was handled, but acknowledging it failed (try {Try} of {Tries}); trying the acknowledgement again in {DelayMs} ms")]
    public static partial void AcknowledgementRetrying(ILogger logger, string messageId, string destination, int @try, int tries, long delayMs, Exception exception);

    [LoggerMessage(61, LogLevel.Error, "Message {MessageId} from {Destination} was handled, but the broker did not take its acknowledgement after {Tries} tries; it stays unacknowledged and will be delivered again (the inbox makes that delivery a no-op)")]
    public static partial void AcknowledgementFailed(ILogger logger, string messageId, string destination, int tries, Exception exception);

    [LoggerMessage(62, LogLevel.Warning, "The broker did not take the retry of message {MessageId} from {Destination}; it stays unsettled and will be delivered again")]
    public static partial void RetryNotScheduled(ILogger logger, string messageId, string destination, Exception exception);

    [LoggerMessage(25, LogLevel.Information, "Outbox {Store}: dispatcher {Owner} started (schema version {Version})")]
    public static partial void OutboxStarted(ILogger logger, string store, string owner, int version);
}
