namespace Switchboard;

/// <summary>
/// Handles messages of type <typeparamref name="TMessage"/>: every handler of an event is invoked; a command has exactly one.
/// One class may implement the interface for several message types.
/// </summary>
/// <typeparam name="TMessage">The message type handled. Handlers of a base class or interface also receive derived messages.</typeparam>
public interface IHandler<in TMessage>
{
    /// <summary>Handles one message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="context">The message's context: ids, headers, items, and cascading; valid until the returned task completes.</param>
    /// <param name="cancellationToken">The caller's token; on a transport worker, also cancelled when shutdown runs out of time.</param>
    /// <returns>A task that completes when the message is handled.</returns>
    ValueTask HandleAsync(TMessage message, MessageContext context, CancellationToken cancellationToken);
}

/// <summary>
/// Handles a command or request of type <typeparamref name="TMessage"/> and returns its result.
/// Only one handler with a result may exist per message type.
/// </summary>
/// <typeparam name="TMessage">The message type handled.</typeparam>
/// <typeparam name="TResult">The result returned to the sender.</typeparam>
public interface IHandler<in TMessage, TResult>
{
    /// <summary>Handles one message and returns the result.</summary>
    /// <param name="message">The message.</param>
    /// <param name="context">The message's context: ids, headers, items, and cascading; valid until the returned task completes.</param>
    /// <param name="cancellationToken">The caller's token; on a transport worker, also cancelled when shutdown runs out of time.</param>
    /// <returns>The result.</returns>
    ValueTask<TResult> HandleAsync(TMessage message, MessageContext context, CancellationToken cancellationToken);
}
