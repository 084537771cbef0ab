using Microsoft.Extensions.Logging;
using Switchboard.Pipeline;

namespace Switchboard;

/// <summary>Logging and timing middleware.</summary>
public static class LoggingBusBuilderExtensions
{
    /// <summary>
    /// Adds middleware, incoming and outgoing, that logs every handler invocation and every message on its way out with its
    /// type, id, handler or destination and elapsed time, through the bus's logger (category <c>Switchboard</c>); failures
    /// are logged at warning level with the exception and rethrown.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="level">The level of the lines for successes.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseMessageLogging(this BusBuilder builder, LogLevel level = LogLevel.Debug)
    {
        ArgumentNullException.ThrowIfNull(builder);
        MessageLoggingMiddleware middleware = new(level);
        return builder.UseIncoming((IIncomingMiddleware)middleware).UseOutgoing((IOutgoingMiddleware)middleware);
    }
}
