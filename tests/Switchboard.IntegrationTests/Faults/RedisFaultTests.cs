using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.IntegrationTests.Redis;
using Switchboard.Redis;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Faults;

public sealed record FpRedisOrder(string Id);

/// <summary>The Redis transport behind a <see cref="FaultProxy"/>: a stalled network (no RST) and a handled message whose acknowledgement cannot get through.</summary>
public sealed class RedisFaultTests
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(1);

    private static RedisTransportOptions Options(FaultProxy proxy, string prefix) => new()
    {
        // StackExchange.Redis's own timeouts as short as ours, so that its commands fail in time during a stall too.
        ConnectionString = proxy.EndPoint + ",asyncTimeout=1000,syncTimeout=1000,connectTimeout=1000",
        StreamPrefix = prefix,
        BlockTime = TimeSpan.FromMilliseconds(50),
        ClaimMinIdleTime = TimeSpan.FromSeconds(2),
        SendTimeout = SendTimeout,
        HealthCheckTimeout = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public async Task Stall_SendsFailInTime_NoneSucceedsWithoutRedis_HealthReportsIt_ConsumersResume_LostZero()
    {
        string prefix = RedisServer.NewPrefix();
        await using FaultProxy proxy = FaultProxy.For(RedisServer.ConnectionString);
        Ledger ledger = new();
        await using RedisTransport consumerTransport = new(Options(proxy, prefix));
        await using RedisTransport senderTransport = new(Options(proxy, prefix));
        await using IMessageBus consumer = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseRedis(consumerTransport)
            .RouteToTransport<FpRedisOrder>("orders")
            .Handle<FpRedisOrder>(e => ledger.Handled(e.Id)));
        await using IMessageBus sender = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseRedis(senderTransport)
            .RouteToTransport<FpRedisOrder>("orders"));
        await ((Switchboard.Bus.SwitchboardBus)consumer).EnsureStartedAsync(CancellationToken.None);
        RedisHealthCheck health = new(senderTransport);

        try
        {
            StallScenario scenario = new()
            {
                Proxy = proxy,
                Ledger = ledger,
                Publish = id => sender.PublishAsync(new FpRedisOrder(id)).AsTask(),
                Health = async () => (await health.CheckHealthAsync(new HealthCheckContext())).Status,
            };
            StallScenario.Report report = await scenario.RunAsync();

            scenario.AssertPassed(report, errorWithin: SendTimeout + TimeSpan.FromSeconds(2));
            Assert.Contains(report.FailureTypes, f => f.StartsWith("TimeoutException: Redis did not confirm", StringComparison.Ordinal));
        }
        finally
        {
            await RedisServer.DeleteKeysAsync(prefix);
        }
    }

    [Fact]
    public async Task HandledMessage_WhoseAckCannotGetThrough_IsNotAHandlerFailure_NotRetried_AndIsAcknowledgedAfterTheStall()
    {
        string prefix = RedisServer.NewPrefix();
        await using FaultProxy proxy = FaultProxy.For(RedisServer.ConnectionString);
        await using RedisTransport consumerTransport = new(Options(proxy, prefix));
        await using RedisTransport senderTransport = new(new RedisTransportOptions { ConnectionString = RedisServer.ConnectionString, StreamPrefix = prefix });
        Ledger ledger = new();
        TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus consumer = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseRedis(consumerTransport)
            .RouteToTransport<FpRedisOrder>("orders")
            .Handle<FpRedisOrder>(async (e, ct) =>
            {
                entered.TrySetResult();
                await release.Task;
                ledger.Handled(e.Id);
            }));
        await using IMessageBus sender = MessageBus.Create(b => b.Configure(o => o.Name = "web").UseRedis(senderTransport).RouteToTransport<FpRedisOrder>("orders"));
        await ((Switchboard.Bus.SwitchboardBus)consumer).EnsureStartedAsync(CancellationToken.None);

        try
        {
            await sender.PublishAsync(new FpRedisOrder("ack-1"));
            ledger.Published("ack-1");
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The handler succeeds while the consumer's network is stalled: its XACK cannot reach Redis.
            proxy.Stall();
            release.SetResult();
            TransportStatistics Stats() => consumer.GetStatistics().Transports["redis"];
            await Eventually.TrueAsync(() => Stats().AcknowledgementFailures == 1, TimeSpan.FromSeconds(30), () => Stats().ToString());
            proxy.Heal();

            // The XACKs held in the stall reach Redis when it heals (or, had they been lost, the entry left pending would be
            // reclaimed and handled again): either way it ends acknowledged, with no retry, no dead letter, no handler error.
            await Eventually.TrueAsync(() => senderTransport.GetStreamInfoAsync("orders", "billing").GetAwaiter().GetResult().Pending == 0, TimeSpan.FromSeconds(30));
            Assert.Equal(0, Stats().Retried);
            Assert.Equal(0, Stats().DeadLettered);
            Assert.Equal(0, consumer.GetStatistics().HandlerErrors);
            ledger.AssertPassRule(maxDuplicates: 1);
        }
        finally
        {
            proxy.Heal();
            release.TrySetResult();
            await RedisServer.DeleteKeysAsync(prefix);
        }
    }
}
