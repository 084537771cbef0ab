using System.Runtime.CompilerServices;

namespace Switchboard.Dispatch;

/// <summary>
/// Where a compiled (source-generated) handler's instance comes from: one instance for a standalone bus, or the message's
/// DI scope, through a constructor call the generator wrote (no reflection, so it survives trimming and Native AOT).
/// </summary>
internal sealed class CompiledActivator<THandler>(THandler? instance, Func<IServiceProvider, THandler> create)
    where THandler : class
{
    /// <summary>Gets the instance of a standalone bus, or <see langword="null"/> when each message resolves its own.</summary>
    public THandler? Instance => instance;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public THandler Resolve(MessageContext? context)
    {
        IServiceProvider services = context?.Services
            ?? throw new InvalidOperationException($"Handler {typeof(THandler).Name} is resolved from DI, but the bus has no service provider.");

        // A handler the application registered itself (with its own lifetime) wins, as with ActivatorUtilities.
        return services.GetService(typeof(THandler)) as THandler ?? create(services);
    }
}

/// <summary>
/// A class handler registered by generated code whose instance comes from the message's DI scope. On a standalone bus the
/// one instance is bound once instead (<see cref="CompiledInstanceInvoker{T}"/>).
/// </summary>
internal sealed class CompiledInvoker<THandler, T>(CompiledActivator<THandler> activator, bool needsContext)
    : HandlerInvoker(typeof(T), typeof(THandler).Name, needsContext)
    where THandler : class, IHandler<T>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            THandler handler = activator.Resolve(context);
            return handler.HandleAsync(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

/// <summary>A class handler with a result whose instance comes from the message's DI scope; see <see cref="CompiledInvoker{THandler, T}"/>.</summary>
internal sealed class CompiledResultInvoker<THandler, T, TResult>(CompiledActivator<THandler> activator, bool needsContext)
    : ResultHandlerInvoker<TResult>(typeof(T), typeof(THandler).Name, needsContext)
    where THandler : class, IHandler<T, TResult>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            THandler handler = activator.Resolve(context);
            return handler.HandleAsync(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }
}
