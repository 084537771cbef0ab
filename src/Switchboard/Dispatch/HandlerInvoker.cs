namespace Switchboard.Dispatch;

/// <summary>
/// One registered handler, typed once at registration so that dispatch is a virtual call with a cast: no reflection,
/// no closure, no allocation per message.
/// </summary>
internal abstract class HandlerInvoker
{
    protected HandlerInvoker(Type messageType, string name, bool needsContext, Type? resultType = null)
    {
        MessageType = messageType;
        Name = name;
        NeedsContext = needsContext;
        ResultType = resultType;
    }

    /// <summary>Gets the type the handler was registered for; derived messages reach it too when published.</summary>
    public Type MessageType { get; }

    /// <summary>Gets a readable name for logs, errors and spans.</summary>
    public string Name { get; }

    /// <summary>Gets whether the handler reads the <see cref="MessageContext"/>; delegate handlers without one skip creating it.</summary>
    public bool NeedsContext { get; }

    /// <summary>Gets the result type, or <see langword="null"/> for a handler without a result. A field, not a virtual property: the request fast path reads it.</summary>
    public Type? ResultType { get; }

    /// <summary>Gets the subscription this handler belongs to, for runtime subscriptions; it may have been disposed.</summary>
    public Subscription? Subscription { get; init; }

    /// <summary>
    /// Runs the handler. Never throws: what the handler throws before returning its task comes back as a faulted task, so
    /// that the dispatch fast paths need no exception frame (which costs them more than the rest of a publish).
    /// </summary>
    public abstract ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken);

    public virtual async ValueTask<object?> InvokeForResultAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        await InvokeAsync(message, context, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public override string ToString() => Name;
}

/// <summary>A handler that returns a <typeparamref name="TResult"/>.</summary>
internal abstract class ResultHandlerInvoker<TResult> : HandlerInvoker
{
    protected ResultHandlerInvoker(Type messageType, string name, bool needsContext)
        : base(messageType, name, needsContext, typeof(TResult))
    {
    }

    /// <summary>Runs the handler for its result. Never throws, as <see cref="HandlerInvoker.InvokeAsync"/>.</summary>
    public abstract ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken);

    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        ValueTask<TResult> pending = InvokeTypedAsync(message, context, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return default;
        }

        return AwaitDiscarding(pending);

        static async ValueTask AwaitDiscarding(ValueTask<TResult> pending) => await pending.ConfigureAwait(false);
    }

    public override async ValueTask<object?> InvokeForResultAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        => await InvokeTypedAsync(message, context, cancellationToken).ConfigureAwait(false);
}
