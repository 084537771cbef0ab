using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Dashboard;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Switchboard operations dashboard into an ASP.NET Core app.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the dashboard (overview, dead letters, one message) and the JSON API it uses under <paramref name="prefix"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The returned group takes conventions like any endpoint group: <c>.RequireAuthorization("ops")</c>. Without an
    /// authorization policy on it, the dashboard answers only requests from a loopback address (HTTP 403 otherwise) and
    /// says so on the page. Behind a reverse proxy on the same machine every request looks local: set a policy there.
    /// </para>
    /// <para>
    /// Replay and delete are POST requests that need the anti-forgery token the page reads from <c>api/session</c>
    /// (register the service with <c>services.AddSwitchboardDashboard()</c>), and are refused in
    /// <see cref="SwitchboardDashboardOptions.ReadOnly"/> mode. No response carries a connection string.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The app.</param>
    /// <param name="prefix">Where the dashboard lives. The default value is <c>/switchboard</c>.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The endpoint group, for <c>RequireAuthorization</c> and other conventions.</returns>
    /// <exception cref="InvalidOperationException">Anti-forgery is not registered (call <c>services.AddSwitchboardDashboard()</c>).</exception>
    public static RouteGroupBuilder MapSwitchboardDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/switchboard", Action<SwitchboardDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (!prefix.StartsWith('/'))
        {
            throw new ArgumentException($"The dashboard prefix must start with '/' (it is '{prefix}').", nameof(prefix));
        }

        if (!DashboardServiceCollectionExtensions.HasAntiforgery(endpoints.ServiceProvider))
        {
            throw new InvalidOperationException(
                "The Switchboard dashboard protects replay and delete with anti-forgery tokens: call services.AddSwitchboardDashboard() before building the app.");
        }

        SwitchboardDashboardOptions options = new();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BulkLimit);
        DashboardApi api = new(options, prefix.TrimEnd('/'));
        RouteGroupBuilder group = endpoints.MapGroup(prefix.TrimEnd('/'));
        group.AddEndpointFilter(DashboardApi.GuardAsync);
        group.MapGet("/", api.Index).ExcludeFromDescription();
        group.MapGet("/assets/{name}", DashboardApi.Asset).ExcludeFromDescription();
        group.MapGet("/api/session", api.Session).ExcludeFromDescription();
        group.MapGet("/api/overview", api.OverviewAsync).ExcludeFromDescription();
        group.MapGet("/api/dead-letters", api.ListAsync).ExcludeFromDescription();
        group.MapGet("/api/dead-letters/message", api.ShowAsync).ExcludeFromDescription();
        group.MapPost("/api/dead-letters/replay", (HttpContext context, CancellationToken cancellationToken) => api.SettleAsync(context, replay: true, cancellationToken)).ExcludeFromDescription();
        group.MapPost("/api/dead-letters/delete", (HttpContext context, CancellationToken cancellationToken) => api.SettleAsync(context, replay: false, cancellationToken)).ExcludeFromDescription();
        group.MapPost("/api/jobs", api.StartJobAsync).ExcludeFromDescription();
        group.MapGet("/api/jobs", api.ListJobs).ExcludeFromDescription();
        group.MapGet("/api/jobs/{id}", api.GetJob).ExcludeFromDescription();
        group.MapPost("/api/jobs/{id}/cancel", api.CancelJobAsync).ExcludeFromDescription();
        return group;
    }
}
