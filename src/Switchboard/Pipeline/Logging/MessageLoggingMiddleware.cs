using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Switchboard.Bus;

namespace Switchboard.Pipeline;

/// <summary>
/// Logs and times every handler invocation (incoming) and every message on its way out (outgoing) through the bus's
/// logger: the message type and id, the handler or destination, and the elapsed time; failures at warning level.
/// </summary>
internal sealed partial class MessageLoggingMiddleware(LogLevel level) : IIncomingMiddleware, IOutgoingMiddleware
{
    public async ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        ILogger logger = ((SwitchboardBus)context.MessageContext.Dispatcher).Runtime.Logger;
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            HandlerFailed(logger, context.HandlerName, context.MessageType.Name, context.MessageContext.MessageId, Stopwatch.GetElapsedTime(started).TotalMilliseconds, ex);
            throw;
        }

        if (logger.IsEnabled(level))
        {
            double elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Handled(logger, level, context.MessageType.Name, context.MessageContext.MessageId, context.HandlerName, elapsed);
        }
    }

    public async ValueTask InvokeAsync(OutgoingContext context, OutgoingNext next)
    {
        ILogger logger = context.Bus.Runtime.Logger;
        long started = Stopwatch.GetTimestamp();
        string destination = context.ThroughOutbox ? "the outbox" : context.Destination ?? "this process";
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SendFailed(logger, context.Kind, context.MessageType.Name, context.MessageId, destination, Stopwatch.GetElapsedTime(started).TotalMilliseconds, ex);
            throw;
        }

        if (logger.IsEnabled(level))
        {
            double elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Sent(logger, level, context.Kind, context.MessageType.Name, context.MessageId, destination, elapsed);
        }
    }

    [LoggerMessage(EventId = 1701, Message = "Handled {MessageType} {MessageId} with {Handler} in {ElapsedMs:0.###} ms")]
    private static partial void Handled(ILogger logger, LogLevel level, string messageType, string messageId, string handler, double elapsedMs);

    [LoggerMessage(1702, LogLevel.Warning, "{Handler} failed on {MessageType} {MessageId} after {ElapsedMs:0.###} ms")]
    private static partial void HandlerFailed(ILogger logger, string handler, string messageType, string messageId, double elapsedMs, Exception exception);

    [LoggerMessage(EventId = 1703, Message = "{Kind} {MessageType} {MessageId} to {Destination} done in {ElapsedMs:0.###} ms")]
    private static partial void Sent(ILogger logger, LogLevel level, OutgoingKind kind, string messageType, string messageId, string destination, double elapsedMs);

    [LoggerMessage(1704, LogLevel.Warning, "{Kind} {MessageType} {MessageId} to {Destination} failed after {ElapsedMs:0.###} ms")]
    private static partial void SendFailed(ILogger logger, OutgoingKind kind, string messageType, string messageId, string destination, double elapsedMs, Exception exception);
}
