using System.Runtime.CompilerServices;

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
        ResultTypeHandle = resultType is null ? 0 : RuntimeTypeHandle.ToIntPtr(resultType.TypeHandle);
    }

    /// <summary>Gets the type the handler was registered for; derived messages reach it too when published.</summary>
    public Type MessageType { get; }

    /// <summary>Gets a readable name for logs, errors and spans.</summary>
    public string Name { get; }

    /// <summary>Gets whether the handler reads the <see cref="MessageContext"/>; delegate handlers without one skip creating it.</summary>
    public bool NeedsContext { get; }

    /// <summary>Gets the result type, or <see langword="null"/> for a handler without a result. A field, not a virtual property: the request fast path reads it.</summary>
    public Type? ResultType { get; }

    /// <summary>
    /// Gets <see cref="ResultType"/>'s type handle, or 0: what the request fast path compares with its <c>TResult</c>. In
    /// shared generic code <c>typeof(TResult)</c> costs a helper call that makes the <see cref="Type"/> object; the handle is
    /// a load from the generic dictionary.
    /// </summary>
    public nint ResultTypeHandle { get; }

    /// <summary>Gets the subscription this handler belongs to, for runtime subscriptions; it may have been disposed.</summary>
    public Subscription? Subscription { get; init; }

    /// <summary>
    /// Runs the handler. Never throws: what the handler throws before returning its task comes back as a faulted task, so
    /// that the dispatch fast paths need no exception frame (which costs them more than the rest of a publish).
    /// </summary>
    public abstract ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken);

    /// <summary>
    /// Returns one invoker that runs this handler and then <paramref name="next"/>, or <see langword="null"/> when the two
    /// cannot run as one (see <see cref="Routing.MessageRoute.FastHandlers"/>).
    /// </summary>
    public virtual HandlerInvoker? FuseWith(HandlerInvoker next) => null;

    public virtual async ValueTask<object?> InvokeForResultAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        await InvokeAsync(message, context, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public override string ToString() => Name;

    /// <summary>
    /// Runs a handler wrapped in incoming middleware on a lean context the bus prepared (see
    /// <c>SwitchboardBus.InvokePipeline</c>); never throws. Only pipeline invokers take the lean path.
    /// </summary>
    internal virtual ValueTask InvokeLean(IncomingContext incoming)
        => ValueTask.FromException(new InvalidOperationException($"{Name} is not wrapped in incoming middleware."));

    /// <summary>
    /// The step at the end of an incoming chain that runs this handler directly (a delegate bound to the invoker, and for a
    /// handler with a result, one that sets <see cref="IncomingContext.Result"/>), or <see langword="null"/> to run it
    /// through <see cref="InvokeAsync"/>. Like the invoker, it never throws.
    /// </summary>
    internal virtual IncomingNext? PipelineTerminal() => null;

    /// <summary>This handler wrapped in incoming middleware (typed here, so no generic type is made at run time).</summary>
    internal virtual HandlerInvoker WithPipeline(Func<IncomingNext, IncomingNext> build)
        => new Switchboard.Pipeline.PipelineInvoker(this, build);
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

    /// <inheritdoc/>
    internal override HandlerInvoker WithPipeline(Func<IncomingNext, IncomingNext> build)
        => new Switchboard.Pipeline.PipelineResultInvoker<TResult>(this, build);
}

/// <summary>The typed view of a routed message.</summary>
internal static class Routed
{
    /// <summary>
    /// Returns <paramref name="message"/> as a <typeparamref name="T"/> without a checked cast when <typeparamref name="T"/> is a
    /// reference type: the router only hands an invoker messages assignable to its type (computed once per route with
    /// <see cref="Type.IsAssignableFrom(Type)"/>), and in shared generic code the checked cast costs a lookup of
    /// <typeparamref name="T"/>'s handle on every call. A value type is unboxed as usual.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T As<T>(object message)
        => typeof(T).IsValueType ? (T)message : Unsafe.As<object, T>(ref message);
}

/// <summary>
/// What a fused invoker returns when one of its handlers throws: the handler's exception, and its position in the fused
/// run, so that the failure is recorded against that handler and the handlers after it still run.
/// </summary>
#pragma warning disable CA1032, RCS1194 // internal carrier, never thrown past the dispatcher
internal sealed class FusedHandlerException(int position, Exception inner) : Exception(inner.Message, inner)
#pragma warning restore CA1032, RCS1194
{
    public int Position { get; } = position;
}
