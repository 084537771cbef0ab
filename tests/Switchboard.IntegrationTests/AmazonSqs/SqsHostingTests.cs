using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Switchboard.IntegrationTests.AmazonSqs;

public sealed record SqsHostedPing(string Id);

/// <summary><c>services.AddSwitchboard(...).UseAmazonSqs(options)</c>: options from the options system, validated at host start.</summary>
public sealed class SqsHostingTests : IAsyncLifetime
{
    private readonly string _prefix = SqsServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => SqsServer.DeleteQueuesAsync(_prefix);

    [Fact]
    public void InvalidOptions_StopTheHostAtStart_WithAClearMessage_ThatNeverQuotesTheSecret()
    {
        ServiceCollection services = new();
        services.AddLogging();
        services.AddSwitchboard(b => b.Configure(o => o.Name = "hosted"))
            .UseAmazonSqs(o => o.Configure(x =>
            {
                x.ServiceUrl = SqsServer.Url;
                x.AccessKeyId = "AKIDEXAMPLE";
                x.SecretAccessKey = "s3cret-value";
                x.MaxMessagesPerReceive = 25;
            }));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("SqsTransportOptions.MaxMessagesPerReceive must be between 1 and 10", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());
        OptionsValidationException bus = Assert.Throws<OptionsValidationException>(() => provider.GetServices<IHostedService>().ToList());
        Assert.DoesNotContain("s3cret-value", bus.ToString());
    }

    [Fact]
    public async Task ValidOptions_PutTheBusOnSqs_WhenTheHostStarts()
    {
        TaskCompletionSource<SqsHostedPing> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ServiceCollection services = new();
        services.AddLogging();
        services.AddSwitchboard(b => b
                .Configure(o => o.Name = "hosted")
                .RouteToTransport<SqsHostedPing>("ping")
                .Handle<SqsHostedPing>(p => handled.TrySetResult(p)))
            .UseAmazonSqs(o => o.Configure(x =>
            {
                Switchboard.AmazonSqs.SqsTransportOptions test = SqsServer.Options(_prefix);
                x.ServiceUrl = test.ServiceUrl;
                x.AccessKeyId = test.AccessKeyId;
                x.SecretAccessKey = test.SecretAccessKey;
                x.QueueNamePrefix = test.QueueNamePrefix;
                x.WaitTime = test.WaitTime;
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
            IMessageBus bus = provider.GetRequiredService<IMessageBus>();
            await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
            await bus.PublishAsync(new SqsHostedPing("p-1"));
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
