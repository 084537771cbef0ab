using System.Runtime.CompilerServices;
namespace Switchboard.Dispatch;

// The delegate shapes a user registers on BusBuilder, each wrapped once at build time. Every invoker returns what the
// handler throws as a faulted task instead of throwing it (see HandlerInvoker.InvokeAsync).

internal sealed class ActionInvoker<T>(Action<T> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public Action<T> Handler => handler;

    public override HandlerInvoker? FuseWith(HandlerInvoker next)
        => next is ActionInvoker<T> action && next.Subscription is null ? new FusedActionInvoker<T>([handler, action.Handler], $"{Name}+{next.Name}") : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            handler(Routed.As<T>(message));
            return default;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc/>
    internal override IncomingNext PipelineTerminal() => RunInPipeline;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask RunInPipeline(IncomingContext context)
    {
        try
        {
            handler(Routed.As<T>(context.Message));
            return default;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class AsyncInvoker<T>(Func<T, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(Routed.As<T>(message), cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class AsyncNoTokenInvoker<T>(Func<T, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(Routed.As<T>(message));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class ContextInvoker<T>(Func<T, MessageContext, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: true)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class FuncInvoker<T, TResult>(Func<T, TResult> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return new(handler(Routed.As<T>(message)));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }

    /// <inheritdoc/>
    internal override IncomingNext PipelineTerminal() => RunInPipeline;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask RunInPipeline(IncomingContext context)
    {
        try
        {
            context.SetResult(handler(Routed.As<T>(context.Message)));
            return default;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class AsyncFuncInvoker<T, TResult>(Func<T, CancellationToken, ValueTask<TResult>> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(Routed.As<T>(message), cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }
}

internal sealed class ContextFuncInvoker<T, TResult>(Func<T, MessageContext, CancellationToken, ValueTask<TResult>> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: true)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }
}

internal sealed class ProjectionInvoker(Type messageType, IProjection projection) : HandlerInvoker(messageType, projection.GetType().Name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return projection.HandleAsync(message, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class CatchAllInvoker(Func<object, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(object), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return handler(message, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

/// <summary>
/// Several synchronous delegate handlers of one message type run in one call, in order: the publish fast path's shape
/// for an event with many handlers. A failure stops the run and comes back as <see cref="FusedHandlerException"/>; the
/// dispatcher records it against that handler and runs the rest one by one.
/// </summary>
internal sealed class FusedActionInvoker<T>(Action<T>[] handlers, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public override HandlerInvoker? FuseWith(HandlerInvoker next)
        => next is ActionInvoker<T> action && next.Subscription is null ? new FusedActionInvoker<T>([.. handlers, action.Handler], $"{Name}+{next.Name}") : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        T typed = Routed.As<T>(message);
        Action<T>[] all = handlers;
        int i = 0;
        try
        {
            for (; i < all.Length; i++)
            {
                all[i](typed);
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(new FusedHandlerException(i, ex));
        }

        return default;
    }
}
