using Switchboard.Dispatch;
using Switchboard.Routing;

namespace Switchboard.Bus;

/// <summary>
/// The lean path of a message whose one handler is wrapped in incoming middleware (<see cref="MessageRoute.PipelineHandler"/>):
/// a pooled context, the chain, and no state machine while everything completes synchronously and the handler left
/// nothing behind (no cascade, no DI scope). Anything else finishes in <see cref="FinishPipelineAsync"/>, which does what
/// the full dispatch does.
/// </summary>
internal sealed partial class SwitchboardBus
{
    /// <summary>Whether a message of this route may take the lean pipeline path (no runtime subscribers for a publish, nobody listening).</summary>
    private bool LeanPipeline(MessageRoute route, bool publish)
        => route.PipelineHandler is not null && (!publish || _subscriptions.IsEmpty) && !Observed;

    /// <summary>
    /// The lean path's context on this thread. It stays in the slot while leased (one thread-local read per message instead
    /// of the three a take-and-give-back pool costs); a message handled while it is leased (a handler's own nested send)
    /// gets a fresh one, which takes the slot over.
    /// </summary>
    [ThreadStatic]
    private static MessageContext? t_leanContext;

    /// <summary>A pooled context for a message without metadata (see <see cref="MessageContext.Initialize(IMessageDispatcher, object, Microsoft.Extensions.DependencyInjection.IServiceScopeFactory?)"/>).</summary>
    private MessageContext RentLeanContext(object message)
    {
        MessageContext? context = t_leanContext;
        if (context is null || context.Leased)
        {
            context = new MessageContext();
            t_leanContext = context;
        }

        context.Leased = true;
        context.Initialize(this, message, _runtime.ScopeFactory);
        return context;
    }

    /// <summary>Gives a lean context back: it is reset, then free for the thread whose slot holds it (whichever thread finished it).</summary>
    private static void ReturnLeanContext(MessageContext context)
    {
        context.Reset();
        Volatile.Write(ref context.Leased, false);
    }

    private ValueTask InvokePipeline(MessageRoute route, HandlerInvoker handler, object message, HandlerErrorMode? publishMode, CancellationToken cancellationToken)
    {
        MessageContext context = RentLeanContext(message);
        ValueTask pending = handler.InvokeAsync(message, context, cancellationToken);
        if (pending.IsCompletedSuccessfully && context.IsClean)
        {
            ReturnLeanContext(context);
            return default;
        }

        return FinishPipelineAsync(route, handler, context, pending, publishMode, cancellationToken);
    }

    private ValueTask<TResult> InvokePipeline<TResult>(MessageRoute route, ResultHandlerInvoker<TResult> handler, object request, CancellationToken cancellationToken)
    {
        MessageContext context = RentLeanContext(request);
        ValueTask<TResult> pending = handler.InvokeTypedAsync(request, context, cancellationToken);
        if (pending.IsCompletedSuccessfully && context.IsClean)
        {
            TResult result = pending.Result;
            ReturnLeanContext(context);
            return new ValueTask<TResult>(result);
        }

        return FinishPipelineAsync(route, handler, context, pending, cancellationToken);
    }

    private async ValueTask<TResult> FinishPipelineAsync<TResult>(MessageRoute route, HandlerInvoker handler, MessageContext context, ValueTask<TResult> pending, CancellationToken cancellationToken)
    {
        TResult result = default!;
        await FinishPipelineAsync(route, handler, context, Capture(pending), null, cancellationToken).ConfigureAwait(false);
        return result;

        async ValueTask Capture(ValueTask<TResult> typed) => result = await typed.ConfigureAwait(false);
    }

    /// <summary>Awaits the handler, then commits and dispatches its cascades; a publish records the failure and isolates it unless its mode throws.</summary>
    private async ValueTask FinishPipelineAsync(MessageRoute route, HandlerInvoker handler, MessageContext context, ValueTask pending, HandlerErrorMode? publishMode, CancellationToken cancellationToken)
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
                context.DiscardCascaded();
                if (publishMode is not { } mode)
                {
                    CountHandlerError(route.TypeName, ex);
                    throw;
                }

                RecordHandlerError(handler, route.TypeName, context, ex, null);
                if (mode == HandlerErrorMode.Throw)
                {
                    throw new AggregateException($"1 handler(s) of {route.MessageType.Name} failed.", ex);
                }

                return;
            }

            context.CommitCascaded();
            if (context.HasCommitted)
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
            await context.EndScopeAsync().ConfigureAwait(false);
            ReturnLeanContext(context);
            _inFlight.Exit();
        }
    }
}
