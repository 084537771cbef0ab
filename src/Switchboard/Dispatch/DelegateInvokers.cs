using System.Runtime.CompilerServices;
namespace Switchboard.Dispatch;

// The delegate shapes a user registers on BusBuilder, each wrapped once at build time. Every invoker returns what the
// handler throws as a faulted task instead of throwing it (see HandlerInvoker.InvokeAsync).

internal sealed class ActionInvoker<T>(Action<T> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            handler((T)message);
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
            return handler((T)message, cancellationToken);
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
            return handler((T)message);
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
            return handler((T)message, context!, cancellationToken);
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
            return new(handler((T)message));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
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
            return handler((T)message, cancellationToken);
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
            return handler((T)message, context!, cancellationToken);
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
