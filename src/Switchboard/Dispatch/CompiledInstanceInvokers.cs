using System.Runtime.CompilerServices;

namespace Switchboard.Dispatch;

// Class handlers registered by generated code on a standalone bus, where each handler class has one instance: its
// HandleAsync is bound to that instance once, at build time, so a message costs a delegate call (which the JIT can
// devirtualize and inline) instead of an interface call through shared generic code. Every invoker returns what the
// handler throws as a faulted task instead of throwing it (see HandlerInvoker.InvokeAsync).

/// <summary>
/// A generated class handler bound to its instance. It needs a context only when the generator saw the handler read its
/// <see cref="MessageContext"/> parameter; otherwise it runs on the publish, send and request fast paths like a delegate
/// handler, the context argument is <see langword="null"/> (never read), and neighbours of one type run fused
/// (<see cref="FusedCompiledInvoker{T}"/>).
/// </summary>
internal sealed class CompiledInstanceInvoker<T>(Func<T, MessageContext, CancellationToken, ValueTask> handler, string name, bool needsContext)
    : HandlerInvoker(typeof(T), name, needsContext)
{
    public Func<T, MessageContext, CancellationToken, ValueTask> Handler => handler;

    /// <summary>Gets whether this handler may run inside a fused invoker: it reads no context and is not a runtime subscription.</summary>
    public bool CanFuse => !NeedsContext && Subscription is null;

    public override HandlerInvoker? FuseWith(HandlerInvoker next)
        => CanFuse && next is CompiledInstanceInvoker<T> { CanFuse: true } compiled
            ? new FusedCompiledInvoker<T>([handler, compiled.Handler], $"{Name}+{next.Name}")
            : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            // Returned field by field when complete, not as the handler's struct: copying that struct whole right after the
            // handler wrote it field by field stalls on store forwarding (measured: ~2 ns of a publish).
            ValueTask pending = handler(Routed.As<T>(message), context!, cancellationToken);
            return pending.IsCompletedSuccessfully ? default : pending;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc/>
    internal override IncomingNext PipelineTerminal() => RunInPipeline;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask RunInPipeline(IncomingContext incoming)
    {
        try
        {
            ValueTask pending = handler(Routed.As<T>(incoming.Message), NeedsContext ? incoming.MessageContext : null!, incoming.CancellationToken);
            return pending.IsCompletedSuccessfully ? default : pending;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

/// <summary>A generated class handler with a result bound to its instance; see <see cref="CompiledInstanceInvoker{T}"/>.</summary>
internal sealed class CompiledInstanceResultInvoker<T, TResult>(Func<T, MessageContext, CancellationToken, ValueTask<TResult>> handler, string name, bool needsContext)
    : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            // As in CompiledInstanceInvoker: a completed result is passed on as its value, not as the handler's struct.
            ValueTask<TResult> pending = handler(Routed.As<T>(message), context!, cancellationToken);
            return pending.IsCompletedSuccessfully ? new ValueTask<TResult>(pending.Result) : pending;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }

    /// <inheritdoc/>
    internal override IncomingNext PipelineTerminal() => RunInPipeline;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask RunInPipeline(IncomingContext incoming)
    {
        try
        {
            ValueTask<TResult> pending = handler(Routed.As<T>(incoming.Message), NeedsContext ? incoming.MessageContext : null!, incoming.CancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                incoming.SetResult(pending.Result);
                return default;
            }

            return SetResultWhenDoneAsync(pending, incoming);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private static async ValueTask SetResultWhenDoneAsync(ValueTask<TResult> pending, IncomingContext incoming)
        => incoming.SetResult(await pending.ConfigureAwait(false));
}

/// <summary>
/// Several generated class handlers of one message type run in one call, in order, as <see cref="FusedActionInvoker{T}"/>
/// runs delegates: what the publish fast path calls for an event with many class handlers. While each handler completes
/// synchronously and successfully the run stays synchronous. The first one that does not (pending, faulted, or throwing)
/// ends the synchronous part: a pending handler is awaited and the run goes on after it, in order; a failure comes back as
/// <see cref="FusedHandlerException"/> with the handler's position, and the dispatcher records it against that handler
/// and runs the ones after it one by one, exactly as it would without fusing.
/// </summary>
internal sealed class FusedCompiledInvoker<T>(Func<T, MessageContext, CancellationToken, ValueTask>[] handlers, string name)
    : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public override HandlerInvoker? FuseWith(HandlerInvoker next)
        => next is CompiledInstanceInvoker<T> { CanFuse: true } compiled
            ? new FusedCompiledInvoker<T>([.. handlers, compiled.Handler], $"{Name}+{next.Name}")
            : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        T typed = Routed.As<T>(message);
        Func<T, MessageContext, CancellationToken, ValueTask>[] all = handlers;
        int i = 0;
        try
        {
            for (; i < all.Length; i++)
            {
                ValueTask pending = all[i](typed, null!, cancellationToken);
                if (!pending.IsCompletedSuccessfully)
                {
                    return ContinueAsync(typed, pending, i, cancellationToken);
                }
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(new FusedHandlerException(i, ex));
        }

        return default;
    }

    /// <summary>Awaits the handler at <paramref name="position"/>, then runs the rest in order, each awaited before the next starts.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // its box is reused: an asynchronous handler costs no allocation of the run's own
    private async ValueTask ContinueAsync(T typed, ValueTask pending, int position, CancellationToken cancellationToken)
    {
        Func<T, MessageContext, CancellationToken, ValueTask>[] all = handlers;
        while (true)
        {
            try
            {
                await pending.ConfigureAwait(false);
                if (++position == all.Length)
                {
                    return;
                }

                pending = all[position](typed, null!, cancellationToken);
            }
            catch (Exception ex)
            {
                throw new FusedHandlerException(position, ex);
            }
        }
    }
}
