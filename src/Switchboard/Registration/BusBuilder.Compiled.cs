using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Switchboard.Dispatch;
using Switchboard.Serialization;

namespace Switchboard;

/// <summary>The registrations that generated code (<c>Switchboard.SourceGenerator</c>) makes: no reflection, no scanning.</summary>
public sealed partial class BusBuilder
{
    private readonly HashSet<(Type Handler, Type Message)> _compiled = [];
    private readonly List<IJsonTypeInfoResolver> _jsonResolvers = [];

    /// <summary>
    /// Registers a class handler whose construction was written at compile time by the source generator's
    /// <c>AddGeneratedHandlers()</c>. Application code calls <c>AddGeneratedHandlers()</c>, <see cref="AddHandler{THandler}()"/>
    /// or <see cref="Handle{T}(Action{T})"/> instead. Registering the same handler and message twice registers it once.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TMessage">The message type it handles.</typeparam>
    /// <param name="create">Creates the handler from the message scope's services (never called with services on a standalone bus, where the handler has a parameterless constructor).</param>
    /// <param name="flags">What the generator found out about the handler.</param>
    /// <returns>This builder.</returns>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public BusBuilder AddCompiledHandler<THandler, TMessage>(Func<IServiceProvider, THandler> create, CompiledHandlerFlags flags)
        where THandler : class, IHandler<TMessage>
    {
        ArgumentNullException.ThrowIfNull(create);
        if (_compiled.Add((typeof(THandler), typeof(TMessage))))
        {
            _registrations.Add(new CompiledRegistration((services, instances) =>
            {
                CompiledActivator<THandler> activator = CompiledActivatorFor(create, flags, services, instances);
                return activator.Instance is { } instance
                    ? new CompiledInstanceInvoker<TMessage>(instance.HandleAsync, typeof(THandler).Name, NeedsContext(activator, flags))
                    : new CompiledInvoker<THandler, TMessage>(activator, NeedsContext(activator, flags));
            }));
        }

        return this;
    }

    /// <summary>Registers a class handler with a result whose construction was written at compile time; see <see cref="AddCompiledHandler{THandler, TMessage}"/>.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TMessage">The message type it handles.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="create">Creates the handler from the message scope's services (never called with services on a standalone bus, where the handler has a parameterless constructor).</param>
    /// <param name="flags">What the generator found out about the handler.</param>
    /// <returns>This builder.</returns>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public BusBuilder AddCompiledHandler<THandler, TMessage, TResult>(Func<IServiceProvider, THandler> create, CompiledHandlerFlags flags)
        where THandler : class, IHandler<TMessage, TResult>
    {
        ArgumentNullException.ThrowIfNull(create);
        if (_compiled.Add((typeof(THandler), typeof(TMessage))))
        {
            _registrations.Add(new CompiledRegistration((services, instances) =>
            {
                CompiledActivator<THandler> activator = CompiledActivatorFor(create, flags, services, instances);
                return activator.Instance is { } instance
                    ? new CompiledInstanceResultInvoker<TMessage, TResult>(instance.HandleAsync, typeof(THandler).Name, NeedsContext(activator, flags))
                    : new CompiledResultInvoker<THandler, TMessage, TResult>(activator, NeedsContext(activator, flags));
            }));
        }

        return this;
    }

    /// <summary>
    /// Adds System.Text.Json metadata (a source-generated <c>JsonSerializerContext</c>) that the default
    /// <see cref="JsonMessageSerializer"/> uses before anything else: messages then serialize without reflection, which
    /// trimming and Native AOT need. <c>AddGeneratedHandlers()</c> calls this with the application's context when it has one.
    /// Ignored when <see cref="UseSerializer"/> sets a serializer of its own.
    /// </summary>
    /// <param name="resolver">The metadata, usually <c>MyJsonContext.Default</c>.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseJsonTypeInfoResolver(IJsonTypeInfoResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        if (!_jsonResolvers.Contains(resolver))
        {
            _jsonResolvers.Add(resolver);
        }

        return this;
    }

    /// <summary>The serializer of a bus that was given none: JSON with web defaults, and the added metadata first.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reflection metadata is added only when JsonSerializer.IsReflectionEnabledByDefault, which trimmed and AOT applications turn off.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above.")]
    internal IMessageSerializer CreateDefaultSerializer()
    {
        if (_jsonResolvers.Count == 0)
        {
            return new JsonMessageSerializer();
        }

        JsonSerializerOptions options = new(JsonSerializerDefaults.Web);
        foreach (IJsonTypeInfoResolver resolver in _jsonResolvers)
        {
            options.TypeInfoResolverChain.Add(resolver);
        }

        // Types the contexts do not cover still work where reflection does (not under Native AOT).
        if (JsonSerializer.IsReflectionEnabledByDefault)
        {
            options.TypeInfoResolverChain.Add(new DefaultJsonTypeInfoResolver());
        }

        return new JsonMessageSerializer(options);
    }

    private static CompiledActivator<THandler> CompiledActivatorFor<THandler>(
        Func<IServiceProvider, THandler> create,
        CompiledHandlerFlags flags,
        IServiceProvider? services,
        Dictionary<Type, object> instances)
        where THandler : class
    {
        if (services is not null)
        {
            return new CompiledActivator<THandler>(null, create);
        }

        if ((flags & CompiledHandlerFlags.NeedsServices) != 0)
        {
            throw new BusConfigurationException(
                $"{typeof(THandler).Name} has no parameterless constructor, and a standalone bus has no container to resolve it from. " +
                "Register an instance with AddHandler(instance), or use services.AddSwitchboard(...) so handlers come from dependency injection.");
        }

        // One instance per handler class on a standalone bus, shared by every message type it handles.
        if (!instances.TryGetValue(typeof(THandler), out object? instance))
        {
            instance = create(null!);
            instances[typeof(THandler)] = instance;
        }

        return new CompiledActivator<THandler>((THandler)instance, create);
    }

    private static bool NeedsContext<THandler>(CompiledActivator<THandler> activator, CompiledHandlerFlags flags)
        where THandler : class
        => activator.Instance is null || (flags & CompiledHandlerFlags.UsesContext) != 0;

    private sealed record CompiledRegistration(Func<IServiceProvider?, Dictionary<Type, object>, HandlerInvoker> Create) : Registration;
}
