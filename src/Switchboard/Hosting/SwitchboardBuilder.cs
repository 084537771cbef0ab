using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Switchboard.Hosting;

internal sealed class SwitchboardBuilder(IServiceCollection services, SwitchboardConfiguration configuration) : ISwitchboardBuilder
{
    public IServiceCollection Services => services;

    public ISwitchboardBuilder Configure(Action<BusBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configuration.Actions.Add(configure);
        return this;
    }

    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Aot.ReflectionRegistration)]
    public ISwitchboardBuilder AddHandlersFromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (Type type in assembly.GetTypes())
        {
            if (type is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false } && BusBuilder.HandlerInterfaces(type).Any())
            {
                services.TryAddScoped(type);
            }
        }

        return Configure(b => b.AddHandlersFromAssembly(assembly));
    }
}

/// <summary>The configuration actions of the bus registered in a container, applied in order when it is built.</summary>
internal sealed class SwitchboardConfiguration
{
    public List<Action<BusBuilder>> Actions { get; } = [];
}
