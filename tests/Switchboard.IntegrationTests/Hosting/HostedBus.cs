using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Switchboard.IntegrationTests.Hosting;

/// <summary>A host as an application builds it: configuration from a dictionary, the bus, and its health checks.</summary>
public static class HostedBus
{
    public static IHost Build(Dictionary<string, string?> settings, Action<IConfiguration, IServiceCollection> configure)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        configure(builder.Configuration, builder.Services);
        builder.Services.AddHealthChecks().AddSwitchboard(tags: ["ready"]);
        return builder.Build();
    }

    /// <summary>Starts the host, runs the test, and stops the host whatever happened.</summary>
    public static async Task RunAsync(IHost host, Func<IServiceProvider, Task> test)
    {
        await host.StartAsync();
        try
        {
            await test(host.Services);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    public static Task<HealthReport> CheckHealthAsync(IServiceProvider services)
        => services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
}
