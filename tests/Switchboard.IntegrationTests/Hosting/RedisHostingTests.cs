using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.IntegrationTests.Redis;
using Switchboard.Redis;

namespace Switchboard.IntegrationTests.Hosting;

public sealed record RhPing(string Id);

/// <summary>
/// <c>services.AddSwitchboard(...).UseRedis(o =&gt; o.Bind(section))</c>: options from configuration, validated when the host
/// starts (as RabbitMQ and the outbox stores do); <c>AddHealthChecks().AddSwitchboard()</c> reports the bus's Redis.
/// </summary>
public sealed class RedisHostingTests : IAsyncLifetime
{
    private readonly string _prefix = RedisServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RedisServer.DeleteKeysAsync(_prefix);

    private static IHost Host(Dictionary<string, string?> settings, Action<BusBuilder>? bus = null)
        => HostedBus.Build(settings, (configuration, services) => services
            .AddSwitchboard(b =>
            {
                b.Configure(o => o.Name = "hosted-redis");
                bus?.Invoke(b);
            })
            .UseRedis(o => o.Bind(configuration.GetSection("Redis"))));

    [Fact]
    public async Task ValidOptions_FromConfiguration_PutTheBusOnRedis_AndItsHealthCheckIsRegistered()
    {
        TaskCompletionSource<RhPing> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using IHost host = Host(
            new()
            {
                ["Redis:ConnectionString"] = RedisServer.ConnectionString,
                ["Redis:StreamPrefix"] = _prefix,
                ["Redis:BlockTime"] = "00:00:00.050",
                ["Redis:BatchSize"] = "16",
            },
            b => b.RouteToTransport<RhPing>().Handle<RhPing>(p => handled.TrySetResult(p)));

        await HostedBus.RunAsync(host, async services =>
        {
            RedisTransportOptions bound = services.GetRequiredService<IOptions<RedisTransportOptions>>().Value;
            Assert.Equal(16, bound.BatchSize);
            Assert.Equal(TimeSpan.FromMilliseconds(50), bound.BlockTime);

            await services.GetRequiredService<IMessageBus>().PublishAsync(new RhPing("p-1"));
            Assert.Equal("p-1", (await handled.Task.WaitAsync(TimeSpan.FromSeconds(15))).Id);

            HealthReport report = await HostedBus.CheckHealthAsync(services);
            HealthReportEntry redis = report.Entries["switchboard:transport:redis"];
            Assert.Equal(HealthStatus.Healthy, redis.Status);
            Assert.Equal(["switchboard", "transport", "redis", "ready"], redis.Tags);
            Assert.Single(report.Entries);
        });
    }

    [Fact]
    public async Task HealthCheck_OfABusWhoseRedisIsDown_IsUnhealthy_WithoutNamingTheConnectionString()
    {
        using IHost host = Host(new()
        {
            ["Redis:ConnectionString"] = "127.0.0.1:1,password=s3cret-value,connectTimeout=200",
            ["Redis:StreamPrefix"] = _prefix,
        });

        // Not started: a bus starts its consumers with the host, and they need Redis. The health check service builds the bus.
        HealthReport report = await HostedBus.CheckHealthAsync(host.Services);
        HealthReportEntry redis = report.Entries["switchboard:transport:redis"];
        Assert.Equal(HealthStatus.Unhealthy, redis.Status);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.DoesNotContain("s3cret-value", redis.Description);
    }

    [Fact]
    public async Task InvalidOptions_StopTheHostAtStart_NamingTheOption_WithoutQuotingTheConnectionString()
    {
        using IHost host = Host(new()
        {
            ["Redis:ConnectionString"] = "127.0.0.1:6399,password=s3cret-value",
            ["Redis:BatchSize"] = "0",
        });

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("RedisTransportOptions.BatchSize must be positive", ex.Message);
        Assert.DoesNotContain("(Parameter", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());
    }

    [Fact]
    public async Task MissingOptions_StopTheHostAtStart()
    {
        using IHost host = Host([]);

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("RedisTransportOptions.ConnectionString is required", ex.Message);
    }
}
