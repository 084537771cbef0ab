using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.AmazonSqs;
using Switchboard.IntegrationTests.Redis;
using Switchboard.Redis;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>Faults with real processes: a worker killed mid-handler, the emulator killed and restarted, seed 000 across two processes.</summary>
public sealed class SqsFaultTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly string _prefix = SqsServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => SqsServer.DeleteQueuesAsync(_prefix);

    [Fact]
    public async Task Consumer_KilledMidHandler_MessageRedeliveredToSurvivor()
    {
        await using (SqsChildProcess child = SqsChildProcess.Worker("sqs-consume", SqsServer.Url.ToString(), _prefix, "orders", "billing"))
        {
            child.WaitForLine("ready", Patience);
            await using IMessageBus sender = MessageBus.Create(b => b
                .Configure(o => o.Name = "web")
                .UseAmazonSqs(SqsServer.Options(_prefix))
                .AddMessageType<SqsWorkerOrder>("worker.order-placed")
                .RouteToTransport<SqsWorkerOrder>("orders"));
            await sender.PublishAsync(new SqsWorkerOrder("k-1"));
            child.WaitForLine("handling k-1", Patience);
        }

        // Killed with the message received and its lease held: it comes back when the last extension ends.
        TaskCompletionSource<int> survivorGotIt = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus survivor = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseAmazonSqs(SqsServer.Options(_prefix))
            .AddMessageType<SqsWorkerOrder>("worker.order-placed")
            .RouteToTransport<SqsWorkerOrder>("orders")
            .Handle<SqsWorkerOrder>((e, context, ct) =>
            {
                if (e.Id == "k-1")
                {
                    survivorGotIt.TrySetResult(context.Attempt);
                }

                return ValueTask.CompletedTask;
            }));

        int attempt = await survivorGotIt.Task.WaitAsync(Patience);
        Assert.True(attempt >= 2, $"the redelivery counts the killed attempt (attempt {attempt})");
    }

    [Fact]
    public async Task EmulatorDownForAWhile_SendsFailClearly_HealthReportsIt_AndReceiversResume()
    {
        (SqsChildProcess emulator, Uri url) = await SqsChildProcess.EmulatorAsync();
        int port = url.Port;
        Ledger ledger = new();
        SqsTransportOptions options = SqsServer.Options(_prefix, url);
        options.HealthCheckTimeout = TimeSpan.FromSeconds(2);
        SqsTransport senderTransport = new(options);
        await using IMessageBus sender = MessageBus.Create(b => b.Configure(o => o.Name = "web").UseTransport(senderTransport, disposeWithBus: true).RouteToTransport<SqsOrder>("outage"));
        SqsTransport billingTransport = new(SqsServer.Options(_prefix, url));
        await using IMessageBus billing = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseTransport(billingTransport, disposeWithBus: true)
            .RouteToTransport<SqsOrder>("outage")
            .Handle<SqsOrder>(e => ledger.Handled(e.Id)));
        await ((Switchboard.Bus.SwitchboardBus)billing).EnsureStartedAsync(CancellationToken.None);
        SqsHealthCheck health = new(senderTransport);
        HealthCheckContext context = new() { Registration = new HealthCheckRegistration("sqs", health, HealthStatus.Unhealthy, null) };
        try
        {
            await sender.PublishAsync(new SqsOrder("before"));
            ledger.Published("before");
            await ledger.WaitAllHandledAsync(Patience);
            Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(context)).Status);

            await emulator.DisposeAsync(); // killed
            Exception failed = await Assert.ThrowsAnyAsync<Exception>(async () => await sender.PublishAsync(new SqsOrder("during")));
            Assert.DoesNotContain(SqsServer.SecretAccessKey + "/", failed.ToString());
            HealthCheckResult down = await health.CheckHealthAsync(context);
            Assert.Equal(HealthStatus.Unhealthy, down.Status);
            Assert.False(senderTransport.ConnectionMonitor.IsConnected);
            Assert.Contains("sqs", down.Description, StringComparison.OrdinalIgnoreCase);
            // The receiver's poll fails (its transport reports the outage) before the emulator comes back.
            await Eventually.TrueAsync(() => !billingTransport.ConnectionMonitor.IsConnected, Patience);

            // Back on the same port, empty (the emulator keeps nothing in memory across a restart; SQS itself is durable).
            (emulator, _) = await SqsChildProcess.EmulatorAsync(port);
            // The receiver recreates its queue on its own; the sender's next send finds it again.
            DateTime until = DateTime.UtcNow + Patience;
            while (true)
            {
                try
                {
                    await sender.PublishAsync(new SqsOrder("after"));
                    break;
                }
                catch (Exception) when (DateTime.UtcNow < until)
                {
                    await Task.Delay(250);
                }
            }

            ledger.Published("after");
            await ledger.WaitAllHandledAsync(Patience);
            Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(context)).Status);
            Assert.True(senderTransport.ConnectionMonitor.Outages >= 1);
            Assert.True(billingTransport.ConnectionMonitor.IsConnected); // its receive of "after" was answered
            ledger.AssertPassRule();
        }
        finally
        {
            await emulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Seed000_ExecuteAcrossTwoProcesses_OverSqs_WithTheRedisResponseStore()
    {
        string keys = "sbtest:" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using SqsChildProcess worker = SqsChildProcess.Worker("sqs-serve", SqsServer.Url.ToString(), _prefix, RedisServer.ConnectionString, keys);
        worker.WaitForLine("ready", Patience);
        using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(RedisServer.ConnectionString);
        await using IMessageBus web = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseAmazonSqs(SqsServer.Options(_prefix))
            .UseResponseStore(new RedisResponseStore(redis, keys))
            .AddMessageType<SqsSeedPlaceOrder>("seed.place-order")
            .AddMessageType<SqsSeedOrderPlaced>("seed.order-placed")
            .RouteToTransport<SqsSeedPlaceOrder>("orders"));

        // Wait = true: enqueued over SQS, handled by the other process, the result back through Redis.
        object? result = await web.ExecuteAsync(new SqsSeedPlaceOrder("ord-1", 1999), new ExecuteOptions { Wait = true, Timeout = Patience });
        Assert.Equal(new SqsSeedOrderPlaced("ord-1", "placed", 1999), result);

        // Wait = false: only enqueued; the worker handles it later.
        object? queued = await web.ExecuteAsync(new SqsSeedPlaceOrder("ord-2", 5), new ExecuteOptions { Wait = false });
        Assert.Null(queued);
        worker.WaitForLine("handled ord-2", Patience);

        // A handler slower than the caller's timeout: TimeoutException.
        await Assert.ThrowsAsync<TimeoutException>(async () =>
            await web.ExecuteAsync(new SqsSeedPlaceOrder("slow-3", 1), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(1) }));
    }
}

public sealed record SqsWorkerOrder(string Id);

public sealed record SqsSeedPlaceOrder(string OrderId, long AmountCents) : IRequest<SqsSeedOrderPlaced>;

public sealed record SqsSeedOrderPlaced(string OrderId, string Status, long AmountCents);
