using System.Runtime.CompilerServices;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard.Bus;

/// <summary>
/// The lean path of a message whose one handler is wrapped in incoming middleware (<see cref="MessageRoute.PipelineHandler"/>):
/// a pooled incoming context (its message context made only when something reads it), the chain, and no state machine while everything completes synchronously and the handler left
/// nothing behind (no cascade, no DI scope). Anything else finishes in <see cref="FinishPipelineAsync"/>, which does what
/// the full dispatch does.
/// </summary>
internal sealed partial class SwitchboardBus
{
    /// <summary>Whether a message of this route may take the lean pipeline path (no runtime subscribers for a publish, nobody listening).</summary>
    private bool LeanPipeline(MessageRoute route, bool publish)
        => route.PipelineHandler is not null && (!publish || _subscriptions.IsEmpty) && !Observed;

    /// <summary>
    /// A pooled incoming context for a message without metadata; its message context is made only if asked for. It is the
    /// calling thread's, kept in its statistics slot, which the caller has at hand already (one thread-local read per
    /// message for both). It stays there while leased; a message handled while it is leased (a handler's own nested send)
    /// gets a fresh one, which takes the slot over.
    /// </summary>
    private IncomingContext RentLeanIncoming(StatisticsCounters.Slot slot, HandlerInvoker handler, object message, CancellationToken cancellationToken)
    {
        IncomingContext? incoming = slot.LeanIncoming;
        if (incoming is null || incoming.Leased)
        {
            incoming = new IncomingContext();
            slot.LeanIncoming = incoming;
        }

        incoming.Leased = true;
        incoming.InitializeLean(this, _runtime.ScopeFactory, handler, message, cancellationToken);
        return incoming;
    }

    /// <summary>Gives a lean context back: it is cleared, then free for the thread whose slot holds it (whichever thread finished it).</summary>
    private static void ReturnLeanIncoming(IncomingContext incoming)
    {
        incoming.ReleaseLean();
        Volatile.Write(ref incoming.Leased, false);
    }

    private ValueTask InvokePipeline(StatisticsCounters.Slot slot, MessageRoute route, HandlerInvoker handler, object message, HandlerErrorMode? publishMode, CancellationToken cancellationToken)
    {
        IncomingContext incoming = RentLeanIncoming(slot, handler, message, cancellationToken);
        ValueTask pending = handler.InvokeLean(incoming);
        if (pending.IsCompletedSuccessfully && incoming.IsClean)
        {
            // The completed task itself, not `default`: built field by field on the stack, `default` is read back in two
            // words that span its narrower stores, which stalls store forwarding.
            ReturnLeanIncoming(incoming);
            return pending;
        }

        return FinishPipelineAsync(route, handler, incoming, pending, publishMode, cancellationToken);
    }

    private ValueTask<TResult> InvokePipeline<TResult>(StatisticsCounters.Slot slot, MessageRoute route, ResultHandlerInvoker<TResult> handler, object request, CancellationToken cancellationToken)
    {
        IncomingContext incoming = RentLeanIncoming(slot, handler, request, cancellationToken);
        PipelineResultInvoker<TResult> pipeline = Unsafe.As<PipelineResultInvoker<TResult>>(handler);
        ValueTask pending = pipeline.InvokeLeanUnchecked(incoming);
        if (pending.IsCompletedSuccessfully && incoming.HasResult && incoming.IsClean)
        {
            TResult result = PipelineResultInvoker<TResult>.ResultOf(incoming);
            ReturnLeanIncoming(incoming);
            return new ValueTask<TResult>(result);
        }

        return FinishPipelineAsync(route, handler, incoming, pipeline.Complete(pending, incoming), cancellationToken);
    }

    private async ValueTask<TResult> FinishPipelineAsync<TResult>(MessageRoute route, HandlerInvoker handler, IncomingContext incoming, ValueTask<TResult> pending, CancellationToken cancellationToken)
    {
        TResult result = default!;
        await FinishPipelineAsync(route, handler, incoming, Capture(pending), null, cancellationToken).ConfigureAwait(false);
        return result;

        async ValueTask Capture(ValueTask<TResult> typed) => result = await typed.ConfigureAwait(false);
    }

    /// <summary>Awaits the handler, then commits and dispatches its cascades; a publish records the failure and isolates it unless its mode throws.</summary>
    private async ValueTask FinishPipelineAsync(MessageRoute route, HandlerInvoker handler, IncomingContext incoming, ValueTask pending, HandlerErrorMode? publishMode, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        try
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
            {
                incoming.Materialized?.DiscardCascaded();
                if (publishMode is not { } mode)
                {
                    CountHandlerError(route.TypeName, ex);
                    throw;
                }

                RecordHandlerError(handler, route.TypeName, incoming.Materialized, ex, null);
                if (mode == HandlerErrorMode.Throw)
                {
                    throw new AggregateException($"1 handler(s) of {route.MessageType.Name} failed.", ex);
                }

                return;
            }

            MessageContext? context = incoming.Materialized;
            context?.CommitCascaded();
            if (context is { HasCommitted: true })
            {
                try
                {
                    await DispatchCascadedAsync(context, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (publishMode is { } mode && !IsCallerCancellation(ex, cancellationToken))
                {
                    // As the full dispatch: a publish reports a failed cascade only when its mode throws.
                    if (mode == HandlerErrorMode.Throw)
                    {
                        throw new AggregateException($"1 handler(s) of {route.MessageType.Name} failed.", ex);
                    }
                }
            }
        }
        finally
        {
            if (incoming.Materialized is { } context)
            {
                await context.EndScopeAsync().ConfigureAwait(false);
            }

            ReturnLeanIncoming(incoming);
            _inFlight.Exit();
        }
    }
}
