namespace Switchboard;

/// <summary>The rest of the incoming pipeline: the next middleware, or the handler itself after the last one.</summary>
/// <param name="context">The context to pass on (the one the middleware received).</param>
/// <returns>A task that completes when the rest of the pipeline, the handler included, has finished.</returns>
public delegate ValueTask IncomingNext(IncomingContext context);

/// <summary>
/// Middleware around every handler invocation: in process, and for messages received from a transport or the outbox.
/// The same <c>(context, next)</c> shape as <see cref="IOutgoingMiddleware"/>. Call <c>next(context)</c> to go on; return
/// without calling it to short-circuit (a request then needs <see cref="IncomingContext.Result"/> set); throw to fail the
/// handler: its exception is the handler's (a send or request fails, a received message is retried, or dead-lettered at
/// once for a <see cref="MessageRejectedException"/>).
/// </summary>
/// <remarks>
/// Registered with <c>BusBuilder.UseIncoming(...)</c> in order: the first registered is the outermost. Runtime
/// subscriptions (<c>Subscribe</c>, <c>Stream</c>, <c>SubscribeAll</c>) are observers, not handlers, and run without it.
/// A bus without incoming middleware keeps its allocation-free fast path; see docs/pipeline.md.
/// </remarks>
public interface IIncomingMiddleware
{
    /// <summary>Runs the middleware around the rest of the pipeline.</summary>
    /// <param name="context">The message, its handler, its <see cref="MessageContext"/> and the result.</param>
    /// <param name="next">The rest of the pipeline.</param>
    /// <returns>A task that completes when the middleware has finished.</returns>
    ValueTask InvokeAsync(IncomingContext context, IncomingNext next);
}
