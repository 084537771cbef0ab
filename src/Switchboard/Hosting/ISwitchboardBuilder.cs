using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Hosting;

/// <summary>Returned by <c>services.AddSwitchboard(...)</c>; transport and outbox packages extend it.</summary>
public interface ISwitchboardBuilder
{
    /// <summary>Gets the service collection the bus is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>Adds configuration applied to the bus's <see cref="BusBuilder"/> when the bus is built, after earlier ones.</summary>
    /// <param name="configure">Changes the builder.</param>
    /// <returns>This builder.</returns>
    ISwitchboardBuilder Configure(Action<BusBuilder> configure);

    /// <summary>Registers every concrete class handler in an assembly, as a scoped service and on the bus.</summary>
    /// <param name="assembly">The assembly to scan.</param>
    /// <returns>This builder.</returns>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(Aot.ReflectionRegistration)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Aot.ReflectionRegistration)]
    ISwitchboardBuilder AddHandlersFromAssembly(System.Reflection.Assembly assembly);
}
