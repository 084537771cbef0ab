using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Dispatch;

namespace Switchboard.Pipeline;

/// <summary>The middleware registered on a <see cref="BusBuilder"/>, in order; bound to the container when the bus is built.</summary>
internal sealed class MiddlewareRegistry
{
    public List<Registration> Incoming { get; } = [];

    public List<Registration> Outgoing { get; } = [];

    /// <summary>Gets or sets the validation middleware once <c>UseValidation</c> or <c>AddValidator</c> added it.</summary>
    public ValidationMiddleware? Validation { get; set; }

    /// <summary>Returns the pipeline the router builds routes with, or <see langword="null"/> when nothing is registered (the fast paths stay as they are).</summary>
    public MiddlewarePipeline? Bind(IServiceProvider? services)
        => Incoming.Count == 0 && Outgoing.Count == 0 ? null : new MiddlewarePipeline([.. Incoming], [.. Outgoing], services);

    /// <summary>
    /// One registration: an instance (a middleware object or a delegate), or a middleware type (closed, or open generic
    /// closed over each message type), applied to every message or only to those assignable to <see cref="AppliesTo"/>.
    /// </summary>
    internal sealed record Registration(object? Instance, Type? MiddlewareType, Type? AppliesTo);
}

/// <summary>
/// Builds, once per route, the chain of middleware that applies to a message type: incoming chains wrap each handler
/// (<see cref="PipelineInvoker"/>), the outgoing chain ends in the bus's routing. Nothing here runs per message except
/// the chain's own delegates.
/// </summary>
internal sealed class MiddlewarePipeline(MiddlewareRegistry.Registration[] incoming, MiddlewareRegistry.Registration[] outgoing, IServiceProvider? services)
{
    private readonly ConcurrentDictionary<Type, object> _singletons = new();
    private readonly IServiceProviderIsService? _isService = services?.GetService<IServiceProviderIsService>();

    /// <summary>Returns the handler wrapped in the incoming middleware that applies to <paramref name="messageType"/>, or the handler itself when none does.</summary>
    public HandlerInvoker Wrap(Type messageType, HandlerInvoker handler)
    {
        List<object> stages = Stages(incoming, messageType);
        if (stages.Count == 0)
        {
            return handler;
        }

        IncomingNext Build(IncomingNext terminal)
        {
            IncomingNext next = terminal;
            for (int i = stages.Count - 1; i >= 0; i--)
            {
                next = LinkIncoming(stages[i], next);
            }

            return next;
        }

        return handler.ResultType is { } resultType
            ? (HandlerInvoker)Activator.CreateInstance(typeof(PipelineResultInvoker<>).MakeGenericType(resultType), handler, (Func<IncomingNext, IncomingNext>)Build)!
            : new PipelineInvoker(handler, Build);
    }

    /// <summary>Returns the outgoing chain of <paramref name="messageType"/>, ending in the bus's routing; <see langword="null"/> when no middleware applies.</summary>
    public OutgoingNext? Outgoing(Type messageType)
    {
        List<object> stages = Stages(outgoing, messageType);
        if (stages.Count == 0)
        {
            return null;
        }

        OutgoingNext next = static context => context.Bus.ContinueOutgoingAsync(context);
        for (int i = stages.Count - 1; i >= 0; i--)
        {
            next = LinkOutgoing(stages[i], next);
        }

        return next;
    }

    private static IncomingNext LinkIncoming(object stage, IncomingNext next) => stage switch
    {
        IIncomingMiddleware middleware => context => middleware.InvokeAsync(context, next),
        Func<IncomingContext, IncomingNext, ValueTask> function => context => function(context, next),
        Type scoped => context => ((IIncomingMiddleware)context.MessageContext.Services!.GetRequiredService(scoped)).InvokeAsync(context, next),
        _ => throw new InvalidOperationException($"{stage.GetType().Name} is not incoming middleware."),
    };

    private static OutgoingNext LinkOutgoing(object stage, OutgoingNext next) => stage switch
    {
        IOutgoingMiddleware middleware => context => middleware.InvokeAsync(context, next),
        Func<OutgoingContext, OutgoingNext, ValueTask> function => context => function(context, next),
        _ => throw new InvalidOperationException($"{stage.GetType().Name} is not outgoing middleware."),
    };

    /// <summary>The stages that apply to a message type, in registration order: instances, delegates, or a type to resolve per message.</summary>
    private List<object> Stages(MiddlewareRegistry.Registration[] registrations, Type messageType)
    {
        List<object> stages = [];
        foreach (MiddlewareRegistry.Registration registration in registrations)
        {
            if (registration.AppliesTo is { } appliesTo && !appliesTo.IsAssignableFrom(messageType))
            {
                continue;
            }

            if (registration.Instance is { } instance)
            {
                stages.Add(instance);
                continue;
            }

            Type type = registration.MiddlewareType!;
            if (type.IsGenericTypeDefinition)
            {
                Type? closed = Close(type, messageType);
                if (closed is null)
                {
                    continue; // its constraints exclude this message type: it does not apply
                }

                type = closed;
            }

            // Incoming middleware registered in the container is resolved per message from the message's scope (it may
            // depend on scoped services, a DbContext); anything else is created once, when the route is built.
            bool incomingType = typeof(IIncomingMiddleware).IsAssignableFrom(type) && ReferenceEquals(registrations, incoming);
            stages.Add(incomingType && _isService?.IsService(type) == true ? type : _singletons.GetOrAdd(type, Create));
        }

        return stages;
    }

    private static Type? Close(Type openType, Type messageType)
    {
        if (openType.GetGenericArguments().Length != 1)
        {
            throw new BusConfigurationException($"{openType.Name} is an open generic middleware with {openType.GetGenericArguments().Length} type parameters; it needs exactly one, the message type.");
        }

        try
        {
            return openType.MakeGenericType(messageType);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private object Create(Type type)
    {
        if (services is not null)
        {
            return services.GetService(type) ?? ActivatorUtilities.CreateInstance(services, type);
        }

        if (type.GetConstructor(Type.EmptyTypes) is null)
        {
            throw new BusConfigurationException(
                $"Middleware {type.Name} has no parameterless constructor, and a standalone bus has no container to resolve it from. " +
                "Register an instance with UseIncoming(instance) / UseOutgoing(instance), or use services.AddSwitchboard(...).");
        }

        return Activator.CreateInstance(type)!;
    }
}
