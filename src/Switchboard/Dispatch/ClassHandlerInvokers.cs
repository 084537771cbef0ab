using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Dispatch;

/// <summary>Where a class handler's instance comes from.</summary>
internal abstract class HandlerActivator<THandler>
    where THandler : class
{
    public abstract THandler Get(MessageContext context);
}

/// <summary>One instance for the bus's lifetime: a standalone bus, or an instance the user registered.</summary>
internal sealed class SingletonActivator<THandler>(THandler instance) : HandlerActivator<THandler>
    where THandler : class
{
    public override THandler Get(MessageContext context) => instance;
}

/// <summary>Resolved per message from the message's DI scope.</summary>
internal sealed class ScopedActivator<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] THandler> : HandlerActivator<THandler>
    where THandler : class
{
    public override THandler Get(MessageContext context)
    {
        IServiceProvider services = context.Services
            ?? throw new InvalidOperationException($"Handler {typeof(THandler).Name} is resolved from DI, but the bus has no service provider.");
        if (services.GetService<THandler>() is { } registered)
        {
            return registered; // the container's: its scope disposes it
        }

        // Not registered: created here for this message, so the bus disposes it when the message is done.
        THandler created = ActivatorUtilities.CreateInstance<THandler>(services);
        if (created is IDisposable or IAsyncDisposable)
        {
            context.Own(created);
        }

        return created;
    }
}

internal sealed class ClassInvoker<THandler, T>(HandlerActivator<THandler> activator)
    : HandlerInvoker(typeof(T), typeof(THandler).Name, needsContext: true)
    where THandler : class, IHandler<T>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return activator.Get(context!).HandleAsync(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}

internal sealed class ClassResultInvoker<THandler, T, TResult>(HandlerActivator<THandler> activator)
    : ResultHandlerInvoker<TResult>(typeof(T), typeof(THandler).Name, needsContext: true)
    where THandler : class, IHandler<T, TResult>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask<TResult> InvokeTypedAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return activator.Get(context!).HandleAsync(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }
    }
}

/// <summary>An object handler subscribed at run time (seed 001's <c>bus.subscribe(OrderCreated, NotificationService())</c>).</summary>
internal sealed class InstanceInvoker<T>(IHandler<T> instance) : HandlerInvoker(typeof(T), instance.GetType().Name, needsContext: true)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
    {
        try
        {
            return instance.HandleAsync(Routed.As<T>(message), context!, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }
}
