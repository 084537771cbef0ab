using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Switchboard.IntegrationTests.RabbitMQ;

public sealed record RmqHostedPing(string Id);

/// <summary><c>services.AddSwitchboard(...).UseRabbitMq(options)</c>: options from the options system, validated at host start.</summary>
public sealed class RabbitMqHostingTests : IAsyncLifetime
{
    private readonly string _exchange = RabbitMqServer.NewExchange();
    private readonly List<string> _queues = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RabbitMqServer.DeleteAsync(_exchange, _queues);

    [Fact]
    public void InvalidOptions_StopTheHostAtStart_WithAClearMessage_ThatNeverQuotesThePassword()
    {
        ServiceCollection services = new();
        services.AddLogging();
        services.AddSwitchboard(b => b.Configure(o => o.Name = "hosted"))
            .UseRabbitMq(o => o.Configure(x =>
            {
                x.Uri = new Uri("amqp://admin:s3cret-value@127.0.0.1:5679/");
                x.ExchangeName = _exchange;
                x.Prefetch = 0;
            }));
        using ServiceProvider provider = services.BuildServiceProvider();

        // What the host runs first when it starts (ValidateOnStart), before any hosted service.
        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("RabbitMqTransportOptions.Prefetch must be positive", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());

        // And the bus is never built with them: the hosted service that starts it fails the same way.
        OptionsValidationException bus = Assert.Throws<OptionsValidationException>(() => provider.GetServices<IHostedService>().ToList());
        Assert.DoesNotContain("s3cret-value", bus.ToString());
    }

    [Fact]
    public void MissingUri_IsReportedAtStart()
    {
        ServiceCollection services = new();
        services.AddSwitchboard(_ => { }).UseRabbitMq(_ => { });
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Uri is required", ex.Message);
    }

    [Fact]
    public async Task ValidOptions_PutTheBusOnRabbitMq_WhenTheHostStarts()
    {
        string destination = _exchange + "-ping";
        _queues.AddRange([$"{destination}.hosted", $"{destination}.hosted.delay", $"{destination}.hosted.dlq"]);
        TaskCompletionSource<RmqHostedPing> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ServiceCollection services = new();
        services.AddLogging();
        services.AddSwitchboard(b => b
                .Configure(o => o.Name = "hosted")
                .RouteToTransport<RmqHostedPing>(destination)
                .Handle<RmqHostedPing>(p => handled.TrySetResult(p)))
            .UseRabbitMq(o => o.Configure(x =>
            {
                x.Uri = RabbitMqServer.Uri;
                x.ExchangeName = _exchange;
            }));
        await using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        List<IHostedService> hosted = [.. provider.GetServices<IHostedService>()];
        foreach (IHostedService service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            await provider.GetRequiredService<IMessageBus>().PublishAsync(new RmqHostedPing("p-1"));
            Assert.Equal("p-1", (await handled.Task.WaitAsync(TimeSpan.FromSeconds(15))).Id);
        }
        finally
        {
            foreach (IHostedService service in hosted)
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }
}
