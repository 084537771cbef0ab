namespace Switchboard;

/// <summary>The rest of the outgoing pipeline: the next middleware, or the routing of the message after the last one.</summary>
/// <param name="context">The context to pass on (the one the middleware received).</param>
/// <returns>A task that completes when the rest of the pipeline has finished: handlers ran, the transport confirmed, or the outbox row was written.</returns>
public delegate ValueTask OutgoingNext(OutgoingContext context);

/// <summary>
/// Middleware for every typed message the application (or a handler's cascade) publishes, sends, requests or executes,
/// before it is routed: to the handlers in this process, to a transport, or into the outbox. The same
/// <c>(context, next)</c> shape as <see cref="IIncomingMiddleware"/>. Headers added to <see cref="OutgoingContext.Headers"/>
/// travel with the message; return without calling <c>next</c> to keep the message from going anywhere (a request then
/// needs <see cref="OutgoingContext.Result"/> set); throw to refuse it: the caller gets the exception.
/// </summary>
/// <remarks>
/// Registered with <c>BusBuilder.UseOutgoing(...)</c> in order: the first registered is the outermost. Topic publishes
/// (<c>PublishAsync(string, object)</c>) do not pass through it. A bus without outgoing middleware keeps its
/// allocation-free fast path; see docs/pipeline.md.
/// </remarks>
public interface IOutgoingMiddleware
{
    /// <summary>Runs the middleware around the rest of the pipeline.</summary>
    /// <param name="context">The message, where it goes, its headers and the result.</param>
    /// <param name="next">The rest of the pipeline.</param>
    /// <returns>A task that completes when the middleware has finished.</returns>
    ValueTask InvokeAsync(OutgoingContext context, OutgoingNext next);
}
