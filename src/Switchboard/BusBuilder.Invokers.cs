using System.Diagnostics.CodeAnalysis;
using Switchboard.Dispatch;

namespace Switchboard;

public sealed partial class BusBuilder
{
    /// <summary>Creates the invokers, frozen from here on, and checks the rules a built bus relies on.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Class registrations exist only after a call of AddHandler or AddHandlersFromAssembly, which carries the warning to the application.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above: the reflection-based registrations warned where they were made.")]
    internal List<HandlerInvoker> CreateInvokers(IServiceProvider? services)
    {
        OwnedHandlers.Clear();
        List<HandlerInvoker> invokers = [];
        Dictionary<Type, object>? compiledInstances = null;
        foreach (Registration registration in _registrations)
        {
            switch (registration)
            {
                case DelegateRegistration d:
                    invokers.Add(d.Invoker);
                    break;
                case ClassRegistration c:
                    invokers.AddRange(CreateClassInvokers(c, services, OwnedHandlers));
                    break;
                case CompiledRegistration g:
                    invokers.Add(g.Create(services, compiledInstances ??= []));
                    break;
            }
        }

        if (compiledInstances is not null)
        {
            OwnedHandlers.AddRange(compiledInstances.Values);
        }

        ValidateRequestHandlers(invokers);
        return invokers;
    }

    private static void ValidateRequestHandlers(List<HandlerInvoker> invokers)
    {
        foreach (IGrouping<Type, HandlerInvoker> group in invokers.GroupBy(i => i.MessageType))
        {
            Type type = group.Key;
            HandlerInvoker[] handlers = [.. group];
            Type? requestResult = RequestResultType(type);
            bool hasResultHandler = handlers.Any(h => h.ResultType is not null);
            if ((requestResult is not null || hasResultHandler) && handlers.Length > 1)
            {
                throw new BusConfigurationException(
                    $"{type.Name} has {handlers.Length} handlers ({string.Join(", ", handlers.Select(h => h.Name))}), but a request or a command with a result has exactly one. " +
                    "Remove all but one registration, or publish an event type instead.");
            }

            if (requestResult is not null)
            {
                HandlerInvoker handler = handlers[0];
                if (handler.ResultType is null || !requestResult.IsAssignableFrom(handler.ResultType) || handler.ResultType != requestResult)
                {
                    throw new BusConfigurationException(
                        $"{type.Name} implements IRequest<{requestResult.Name}>, but its handler {handler.Name} returns {(handler.ResultType is null ? "nothing" : handler.ResultType.Name)}. " +
                        $"Register it with Handle<{type.Name}, {requestResult.Name}>(...) or implement IHandler<{type.Name}, {requestResult.Name}>.");
                }
            }
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "IRequest<TResult> is kept on every request type: RequestAsync takes the request as IRequest<TResult>, which keeps the implementation.")]
    internal static Type? RequestResultType(Type messageType)
    {
        foreach (Type candidate in messageType.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IRequest<>))
            {
                return candidate.GetGenericArguments()[0];
            }
        }

        return null;
    }

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    private static List<HandlerInvoker> CreateClassInvokers(ClassRegistration registration, IServiceProvider? services, List<object> owned)
    {
        Type handlerType = registration.HandlerType;
        object activator;
        if (registration.Instance is not null)
        {
            activator = Activator.CreateInstance(typeof(SingletonActivator<>).MakeGenericType(handlerType), registration.Instance)!;
        }
        else if (services is not null)
        {
            activator = Activator.CreateInstance(typeof(ScopedActivator<>).MakeGenericType(handlerType))!;
        }
        else
        {
            if (handlerType.GetConstructor(Type.EmptyTypes) is null)
            {
                throw new BusConfigurationException(
                    $"{handlerType.Name} has no parameterless constructor, and a standalone bus has no container to resolve it from. " +
                    "Register an instance with AddHandler(instance), or use services.AddSwitchboard(...) so handlers come from dependency injection.");
            }

            object instance = Activator.CreateInstance(handlerType)!;
            owned.Add(instance);
            activator = Activator.CreateInstance(typeof(SingletonActivator<>).MakeGenericType(handlerType), instance)!;
        }

        List<HandlerInvoker> invokers = [];
        foreach (Type handlerInterface in HandlerInterfaces(handlerType))
        {
            Type[] args = handlerInterface.GetGenericArguments();
            Type invokerType = args.Length == 1
                ? typeof(ClassInvoker<,>).MakeGenericType(handlerType, args[0])
                : typeof(ClassResultInvoker<,,>).MakeGenericType(handlerType, args[0], args[1]);
            invokers.Add((HandlerInvoker)Activator.CreateInstance(invokerType, activator)!);
        }

        return invokers;
    }

    /// <summary>
    /// Handler instances a standalone bus created itself (one per class, from its parameterless or generated constructor),
    /// filled by <see cref="CreateInvokers"/>: the bus disposes them when it stops. Instances given to
    /// <c>AddHandler(instance)</c> stay the caller's, and the container's are the container's.
    /// </summary>
    internal List<object> OwnedHandlers { get; } = [];

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    internal static IEnumerable<Type> HandlerInterfaces(Type type)
        => type.GetInterfaces().Where(i => i.IsGenericType &&
            (i.GetGenericTypeDefinition() == typeof(IHandler<>) || i.GetGenericTypeDefinition() == typeof(IHandler<,>)));

    [RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [RequiresDynamicCode(Aot.ReflectionRegistration)]
    private static void EnsureHandlerType(Type handlerType)
    {
        if (!handlerType.IsClass || handlerType.IsAbstract || handlerType.ContainsGenericParameters)
        {
            throw new ArgumentException($"{handlerType.Name} must be a concrete, non-generic class to be registered as a handler.", nameof(handlerType));
        }

        if (!HandlerInterfaces(handlerType).Any())
        {
            throw new ArgumentException(
                $"{handlerType.Name} implements neither IHandler<TMessage> nor IHandler<TMessage, TResult>, so it handles nothing.", nameof(handlerType));
        }
    }
}
