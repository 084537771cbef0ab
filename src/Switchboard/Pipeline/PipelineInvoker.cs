using System.Runtime.CompilerServices;
using Switchboard.Dispatch;

namespace Switchboard.Pipeline;

/// <summary>
/// A handler wrapped in its incoming middleware. It needs a context, so a route with one never takes the context-free
/// fast paths; a bus without middleware never creates one. Like every invoker it never throws: failures come back as a
/// faulted task.
/// </summary>
internal sealed class PipelineInvoker : HandlerInvoker, IPipelineHandler
{
    private readonly IncomingNext _first;

    public PipelineInvoker(HandlerInvoker inner, Func<IncomingNext, IncomingNext> build)
        : base(inner.MessageType, inner.Name, needsContext: true)
    {
        Inner = inner;
        _first = build(inner.PipelineTerminal() ?? (static context =>
        {
            HandlerInvoker handler = Unsafe.As<PipelineInvoker>(context.Invoker!).Inner;
            return handler.InvokeAsync(context.Message, handler.NeedsContext ? context.MessageContext : null, context.CancellationToken);
        }));
    }

    public HandlerInvoker Inner { get; }

    /// <remarks>
    /// Compiled once, fully optimised, without tiering (as every method here that calls the chain): with profile data the
    /// JIT devirtualises and inlines the chain's delegates into its caller, and each inlined step's returned
    /// <see cref="ValueTask"/> is merged through a stack copy that stalls on store forwarding (most of what one middleware
    /// cost). Called plainly, the chain's steps return in registers.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return _first(IncomingPipeline.Enter(this, message, context, cancellationToken));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <summary>Runs the chain on a lean context the bus prepared (see <c>SwitchboardBus.InvokePipeline</c>); never throws.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal override ValueTask InvokeLean(IncomingContext incoming)
    {
        try
        {
            return _first(incoming);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

/// <summary>A handler with a result wrapped in its incoming middleware; the result travels in <see cref="IncomingContext.Result"/>.</summary>
internal sealed class PipelineResultInvoker<TResult> : ResultHandlerInvoker<TResult>, IPipelineHandler
{
    private readonly IncomingNext _first;

    public PipelineResultInvoker(HandlerInvoker inner, Func<IncomingNext, IncomingNext> build)
        : base(inner.MessageType, inner.Name, needsContext: true)
    {
        Inner = (ResultHandlerInvoker<TResult>)inner;
        _first = build(inner.PipelineTerminal() ?? (static context =>
        {
            ResultHandlerInvoker<TResult> handler = Unsafe.As<PipelineResultInvoker<TResult>>(context.Invoker!).Inner;
            ValueTask<TResult> pending = handler.InvokeTypedAsync(context.Message, handler.NeedsContext ? context.MessageContext : null, context.CancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                context.SetResult(pending.Result);
                return default;
            }

            return AwaitResultAsync(pending, context);
        }));
    }

    public ResultHandlerInvoker<TResult> Inner { get; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            IncomingContext incoming = IncomingPipeline.Enter(this, message, context, cancellationToken);
            ValueTask pending = RunLean(incoming);
            return pending.IsCompletedSuccessfully ? new ValueTask<TResult>(CheckedResultOf(incoming)) : AwaitPipelineAsync(pending, incoming);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }

    /// <summary>Runs the chain on a lean context the bus prepared (see <c>SwitchboardBus.InvokePipeline</c>); never throws.</summary>
    /// <remarks>As a send through <see cref="HandlerInvoker.InvokeAsync"/>: the result is checked, then dropped.</remarks>
    internal override ValueTask InvokeLean(IncomingContext incoming)
    {
        ValueTask<TResult> pending = InvokeLeanTyped(incoming);
        return pending.IsCompletedSuccessfully ? default : AwaitDiscardingAsync(pending);
    }

    private static async ValueTask AwaitDiscardingAsync(ValueTask<TResult> pending) => await pending.ConfigureAwait(false);

    /// <summary>Runs the chain on a lean context for the handler's result; never throws.</summary>
    public ValueTask<TResult> InvokeLeanTyped(IncomingContext incoming) => Complete(InvokeLeanUnchecked(incoming), incoming);

    /// <summary>
    /// Runs the chain on a lean context, leaving the result in it (<see cref="IncomingContext.Result"/>, type-checked when a
    /// middleware set it); never throws. The bus's request path reads it there: a task of the result type, returned through
    /// memory, costs a request more than the chain's own.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public ValueTask InvokeLeanUnchecked(IncomingContext incoming)
    {
        try
        {
            return _first(incoming);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <summary>The result of a chain <see cref="InvokeLeanUnchecked"/> ran: its task's failure, or a clear one when no one set the result.</summary>
    public ValueTask<TResult> Complete(ValueTask pending, IncomingContext incoming)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitPipelineAsync(pending, incoming);
        }

        return incoming.HasResult ? new ValueTask<TResult>(ResultOf(incoming)) : ValueTask.FromException<TResult>(NoResult());
    }

    /// <summary>The chain, compiled once without profile-guided devirtualisation: see <see cref="PipelineInvoker.InvokeAsync"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private ValueTask RunLean(IncomingContext incoming) => _first(incoming);

    private static async ValueTask AwaitResultAsync(ValueTask<TResult> pending, IncomingContext context)
        => context.SetResult(await pending.ConfigureAwait(false));

    private async ValueTask<TResult> AwaitPipelineAsync(ValueTask pending, IncomingContext context)
    {
        await pending.ConfigureAwait(false);
        return CheckedResultOf(context);
    }

    /// <summary>The result the handler or a middleware set: no checked cast, since both are typed (see <see cref="IncomingContext.Result"/>).</summary>
    public static TResult ResultOf(IncomingContext context) => Routed.As<TResult>(context.Result!);

    private TResult CheckedResultOf(IncomingContext context) => context.HasResult ? ResultOf(context) : throw NoResult();

    private InvalidOperationException NoResult()
        => new($"The incoming pipeline of {Name} ended without a result: a middleware returned without calling next and without setting IncomingContext.Result.");
}

/// <summary>Marks a handler wrapped in incoming middleware.</summary>
internal interface IPipelineHandler;

/// <summary>Entering a pipeline: the message's context hands out its reusable <see cref="IncomingContext"/>.</summary>
internal static class IncomingPipeline
{
    public static IncomingContext Enter(HandlerInvoker invoker, object message, MessageContext? context, CancellationToken cancellationToken)
    {
        if (context is null)
        {
            throw new InvalidOperationException($"The middleware around {invoker.Name} needs a message context; the bus invoked it without one.");
        }

        IncomingContext incoming = context.Incoming;
        incoming.Initialize(invoker, message, cancellationToken);
        return incoming;
    }
}
