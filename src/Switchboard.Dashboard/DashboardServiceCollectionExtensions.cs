using Microsoft.AspNetCore.Antiforgery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what the Switchboard dashboard needs.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>Adds the services the dashboard needs (anti-forgery, which protects its replay and delete requests).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddSwitchboardDashboard(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAntiforgery();
        return services;
    }

    internal static bool HasAntiforgery(IServiceProvider services) => services.GetService(typeof(IAntiforgery)) is not null;
}
