namespace Switchboard.Dispatch;

// The delegate shapes a user registers on BusBuilder, each wrapped once at build time.

internal sealed class ActionInvoker<T>(Action<T> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        handler((T)message);
        return default;
    }
}

internal sealed class AsyncInvoker<T>(Func<T, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler((T)message, cancellationToken);
}

internal sealed class AsyncNoTokenInvoker<T>(Func<T, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: false)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler((T)message);
}

internal sealed class ContextInvoker<T>(Func<T, MessageContext, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(T), name, needsContext: true)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler((T)message, context!, cancellationToken);
}

internal sealed class FuncInvoker<T, TResult>(Func<T, TResult> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: false)
{
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => new(handler((T)message));
}

internal sealed class AsyncFuncInvoker<T, TResult>(Func<T, CancellationToken, ValueTask<TResult>> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: false)
{
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler((T)message, cancellationToken);
}

internal sealed class ContextFuncInvoker<T, TResult>(Func<T, MessageContext, CancellationToken, ValueTask<TResult>> handler, string name) : ResultHandlerInvoker<TResult>(typeof(T), name, needsContext: true)
{
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler((T)message, context!, cancellationToken);
}

internal sealed class ProjectionInvoker(Type messageType, IProjection projection) : HandlerInvoker(messageType, projection.GetType().Name, needsContext: false)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => projection.HandleAsync(message, cancellationToken);
}

internal sealed class CatchAllInvoker(Func<object, CancellationToken, ValueTask> handler, string name) : HandlerInvoker(typeof(object), name, needsContext: false)
{
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => handler(message, cancellationToken);
}
