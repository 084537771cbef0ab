using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.AmazonSqs;
using Switchboard.Operations;

namespace Switchboard.Dashboard.Tests;

public sealed record DashParcel(string Id);

/// <summary>
/// A real app on 127.0.0.1 whose bus runs on the SQS emulator of scripts/servers.sh (queues under a prefix of its own),
/// dead-lettering the parcels whose ids are in <see cref="Failures"/> on their first attempt, with the dashboard.
/// </summary>
public sealed class SqsDashboardApp : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly WebApplication _web;

    private SqsDashboardApp(WebApplication web, string prefix, DashboardApp.FailureSwitch failures)
    {
        _web = web;
        QueuePrefix = prefix;
        Failures = failures;
        Bus = web.Services.GetRequiredService<IMessageBus>();
        Operations = Bus.GetOperations();
        BaseUrl = web.Urls.First().TrimEnd('/');
    }

    public string QueuePrefix { get; }

    public DashboardApp.FailureSwitch Failures { get; }

    public IMessageBus Bus { get; }

    public SwitchboardOperations Operations { get; }

    public string BaseUrl { get; }

    public string DashboardUrl => BaseUrl + "/switchboard";

    public OperationsSource Parcels => Operations.Sources.Single(s => s.Transport == "sqs" && s.Destination == "parcels");

    public static async Task<SqsDashboardApp> StartAsync()
    {
        string suffix = Guid.NewGuid().ToString("N")[..10];
        string prefix = "sbd" + suffix + "-";
        DashboardApp.FailureSwitch failures = new();
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSwitchboardDashboard();
        builder.Services.AddSwitchboard(b => b
            .Configure(o =>
            {
                o.Name = "dash-s-" + suffix;
                o.Retry.MaxAttempts = 1;
            })
            .UseAmazonSqs(new SqsTransportOptions
            {
                ServiceUrl = Servers.Sqs,
                AccessKeyId = Servers.SqsAccessKey,
                SecretAccessKey = Servers.SqsSecretKey,
                QueueNamePrefix = prefix,
                WaitTime = TimeSpan.FromSeconds(1),
                VisibilityTimeout = TimeSpan.FromSeconds(3),
                GroupDiscoveryInterval = TimeSpan.FromSeconds(2),
            })
            .RouteToTransport<DashParcel>("parcels")
            .Handle<DashParcel>(p => failures.Handle(p.Id)));
        WebApplication web = builder.Build();
        web.MapSwitchboardDashboard("/switchboard");
        await web.StartAsync();
        return new SqsDashboardApp(web, prefix, failures);
    }

    /// <summary>Publishes parcels that fail and waits until they are dead letters.</summary>
    public async Task DeadLetterParcelsAsync(params string[] ids)
    {
        long before = await Parcels.DeadLetters.CountAsync();
        foreach (string id in ids)
        {
            Failures.Fail(id);
            await Bus.PublishAsync(new DashParcel(id));
        }

        using CancellationTokenSource cts = new(Patience);
        try
        {
            while (await Parcels.DeadLetters.CountAsync(cts.Token) != before + ids.Length)
            {
                await Task.Delay(50, cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Waited {Patience.TotalSeconds} s for {ids.Length} SQS dead letters.");
        }
    }

    public HttpClient CreateClient() => new(new HttpClientHandler { UseCookies = true, CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = new Uri(DashboardUrl + "/") };

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        using AmazonSQSClient client = new(new BasicAWSCredentials(Servers.SqsAccessKey, Servers.SqsSecretKey), new AmazonSQSConfig { ServiceURL = Servers.Sqs.ToString(), AuthenticationRegion = "us-east-1" });
        ListQueuesResponse queues = await client.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = QueuePrefix, MaxResults = 1000 });
        foreach (string queue in queues.QueueUrls ?? [])
        {
            try
            {
                await client.DeleteQueueAsync(queue);
            }
            catch (QueueDoesNotExistException)
            {
                // Gone already.
            }
        }
    }
}
