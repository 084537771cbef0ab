using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.IntegrationTests.RabbitMQ;
using Switchboard.RabbitMQ;

namespace Switchboard.IntegrationTests.Hosting;

/// <summary>RabbitMQ options bound from configuration (the URI and an enum too), and the transport's registered health check.</summary>
public sealed class RabbitMqHostingHealthTests : IAsyncLifetime
{
    private readonly string _exchange = RabbitMqServer.NewExchange();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RabbitMqServer.DeleteAsync(_exchange, []);

    [Fact]
    public async Task OptionsFromConfiguration_AreBound_AndTheTransportsHealthCheckIsRegistered()
    {
        using IHost host = HostedBus.Build(
            new()
            {
                ["RabbitMQ:Uri"] = RabbitMqServer.Uri.ToString(),
                ["RabbitMQ:ExchangeName"] = _exchange,
                ["RabbitMQ:ExchangeType"] = "Direct",
                ["RabbitMQ:Prefetch"] = "32",
            },
            (configuration, services) => services
                .AddSwitchboard(b => b.Configure(o => o.Name = "hosted-rabbitmq"))
                .UseRabbitMq(o => o.Bind(configuration.GetSection("RabbitMQ"))));

        await HostedBus.RunAsync(host, async services =>
        {
            RabbitMqTransportOptions bound = services.GetRequiredService<IOptions<RabbitMqTransportOptions>>().Value;
            Assert.Equal(RabbitMqExchangeType.Direct, bound.ExchangeType);
            Assert.Equal((ushort)32, bound.Prefetch);

            HealthReport report = await HostedBus.CheckHealthAsync(services);
            HealthReportEntry rabbit = Assert.Single(report.Entries, e => e.Key == "switchboard:transport:rabbitmq").Value;
            Assert.Equal(HealthStatus.Healthy, rabbit.Status);
            Assert.Equal(["switchboard", "transport", "rabbitmq", "ready"], rabbit.Tags);
            Assert.DoesNotContain("guest", rabbit.Description);
        });
    }
}
