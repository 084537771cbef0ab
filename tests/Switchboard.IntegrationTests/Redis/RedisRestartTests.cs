using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Redis;

/// <summary>The transport across a real restart of the Redis server process (killed, then started again on its data).</summary>
public sealed class RedisRestartTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Consumer_SurvivesARedisRestart_ReconnectsAndResumes_AndTheHealthCheckReportsTheOutage()
    {
        long failures = 0, restorations = 0;
        using MeterListener listener = new();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName && instrument.Name.StartsWith("switchboard.connection.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!HasTag(tags, "messaging.system", "redis"))
            {
                return;
            }

            if (instrument.Name == Switchboard.Transport.ConnectionMonitor.FailuresInstrument)
            {
                Interlocked.Add(ref failures, value);
            }
            else
            {
                Interlocked.Add(ref restorations, value);
            }
        });
        listener.Start();
        await using RedisProcess redis = new();
        await redis.StartAsync();
        RedisTransportOptions Options() => new()
        {
            ConnectionString = redis.ConnectionString + ",connectTimeout=1000",
            StreamPrefix = "restart",
            BlockTime = TimeSpan.FromMilliseconds(50),
            ClaimMinIdleTime = TimeSpan.FromSeconds(1),
        };
        Ledger ledger = new();
        await using RedisTransport consumerTransport = new(Options());
        await using RedisTransport senderTransport = new(Options());
        await using IMessageBus consumer = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseRedis(consumerTransport)
            .RouteToTransport<RtOrderPlaced>("orders")
            .Handle<RtOrderPlaced>(e => ledger.Handled(e.Id)));
        await using IMessageBus sender = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseRedis(senderTransport)
            .RouteToTransport<RtOrderPlaced>("orders"));
        await ((Switchboard.Bus.SwitchboardBus)consumer).EnsureStartedAsync(CancellationToken.None);
        RedisHealthCheck health = new(consumerTransport);

        for (int i = 0; i < 20; i++)
        {
            await sender.PublishAsync(new RtOrderPlaced($"before-{i}"));
            ledger.Published($"before-{i}");
        }

        await ledger.WaitAllHandledAsync(Patience);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        await redis.KillAsync();
        await Eventually.TrueAsync(() => health.CheckHealthAsync(new HealthCheckContext()).Result.Status == HealthStatus.Unhealthy, Patience);
        await redis.StartAsync();

        // The caller retries a publish that failed during the outage; only publishes that returned count.
        for (int i = 0; i < 20; i++)
        {
            await PublishWithRetryAsync(sender, new RtOrderPlaced($"after-{i}"));
            ledger.Published($"after-{i}");
        }

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
        await Eventually.TrueAsync(() => health.CheckHealthAsync(new HealthCheckContext()).Result.Status == HealthStatus.Healthy, Patience);
        // The outage is also counted on the Switchboard meter (other tests' connections may add to it, never subtract).
        await Eventually.TrueAsync(() => Interlocked.Read(ref failures) >= 1 && Interlocked.Read(ref restorations) >= 1, Patience, () => $"failures {failures}, restorations {restorations}");
    }

    private static async Task PublishWithRetryAsync(IMessageBus bus, RtOrderPlaced message)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await bus.PublishAsync(message);
                return;
            }
            catch (RedisException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static bool HasTag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name, string value)
    {
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key == name && Equals(tag.Value, value))
            {
                return true;
            }
        }

        return false;
    }
}
