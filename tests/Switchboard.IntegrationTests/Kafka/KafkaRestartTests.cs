using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Kafka;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// The transport across a broker restart: a mock broker process of the test's own on a fixed loopback port is killed, the
/// bus keeps running, a new broker process comes up on the same address. What this proves: producers and consumers
/// reconnect by themselves (no bus restart), health and the outage counters report the outage meanwhile, a send during
/// the outage fails clearly within MessageTimeout, and messages sent after the restart are handled. What it does not:
/// the mock keeps nothing across its restart (records, committed offsets, the group), so nothing is said about records
/// that were on the broker when it went down; a real broker keeps them and the committed offsets. Nor does it say
/// anything about the first records after the restart: the mock starts every log at offset 0 again while the consumer
/// resumes from the position it had reached (right for a broker, which keeps its log), so the records written below that
/// position are skipped. Throw-away sync records, one key at a time until the consumer handled one of that key, move
/// each partition's new log past the old position before the asserted records are sent.
/// </summary>
public sealed class KafkaRestartTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task BrokerRestart_SendsFailDuringTheOutage_HealthReportsIt_ThenSenderAndConsumerResumeWithoutABusRestart()
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
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "messaging.system" && Equals(tag.Value, "kafka"))
                {
                    Interlocked.Add(ref instrument.Name == Switchboard.Transport.ConnectionMonitor.FailuresInstrument ? ref failures : ref restorations, value);
                }
            }
        });
        listener.Start();

        await using KafkaBrokerProcess broker = new();
        await broker.StartAsync();
        KafkaTransportOptions Options()
        {
            KafkaTransportOptions options = KafkaServer.Options("restart.", broker.BootstrapServers);
            options.MessageTimeout = TimeSpan.FromSeconds(3);
            options.HealthCheckTimeout = TimeSpan.FromSeconds(1);
            // The restarted mock has forgotten the topic until the first send creates it again: a consumer that rejoined
            // meanwhile saw no topic and has no partitions until its next metadata refresh (5 min by default). A real
            // broker keeps its topics across a restart; here the refresh is made short so the consumer sees the topic again.
            options.Settings["topic.metadata.refresh.interval.ms"] = "1000";
            return options;
        }

        Ledger ledger = new();
        System.Collections.Concurrent.ConcurrentDictionary<string, string> synced = new();
        HashSet<string> syncSent = [];
        await using KafkaTransport consumerTransport = new(Options());
        await using KafkaTransport senderTransport = new(Options());
        await using IMessageBus consumer = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseKafka(consumerTransport)
            .RouteToTransport<KfAccountChanged>("accounts")
            .Handle<KfAccountChanged>(e =>
            {
                if (e.Id.StartsWith("sync-", StringComparison.Ordinal))
                {
                    synced[e.AggregateId!] = e.Id;
                }
                else
                {
                    ledger.Handled(e.Id);
                }
            }));
        await using IMessageBus sender = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseKafka(senderTransport)
            .RouteToTransport<KfAccountChanged>("accounts"));
        KafkaHealthCheck consumerHealth = new(consumerTransport), senderHealth = new(senderTransport);

        // The first send creates the topic (the mock creates topics on first use); the consumer then joins its group.
        await sender.PublishAsync(new KfAccountChanged("before-0") { AggregateId = "k0" });
        ledger.Published("before-0");
        await ((Switchboard.Bus.SwitchboardBus)consumer).EnsureStartedAsync(CancellationToken.None);
        for (int i = 1; i < 10; i++)
        {
            await sender.PublishAsync(new KfAccountChanged($"before-{i}") { AggregateId = $"k{i % 4}" });
            ledger.Published($"before-{i}");
        }

        await ledger.WaitAllHandledAsync(Patience);
        Assert.Equal(HealthStatus.Healthy, (await consumerHealth.CheckHealthAsync(new HealthCheckContext())).Status);
        Assert.Equal(HealthStatus.Healthy, (await senderHealth.CheckHealthAsync(new HealthCheckContext())).Status);

        await broker.KillAsync();

        // A send during the outage fails, clearly and in bounded time (MessageTimeout), so an outbox row stays undispatched.
        Stopwatch waited = Stopwatch.StartNew();
        KafkaSendException failed = await Assert.ThrowsAsync<KafkaSendException>(async () => await sender.PublishAsync(new KfAccountChanged("during") { AggregateId = "k0" }));
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(3 + 10), $"the failed send took {waited.Elapsed}");
        Assert.DoesNotContain(broker.BootstrapServers, failed.Message, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => consumerHealth.CheckHealthAsync(new HealthCheckContext()).Result.Status != HealthStatus.Healthy, Patience);
        await Eventually.TrueAsync(() => senderHealth.CheckHealthAsync(new HealthCheckContext()).Result.Status != HealthStatus.Healthy, Patience);
        await Eventually.TrueAsync(() => Interlocked.Read(ref failures) >= 1, Patience, () => $"failures {failures}");

        await broker.StartAsync();

        // The mock's fresh logs start at 0 below the consumer's old positions (see the summary): sync records per key until
        // the consumer handled one of each key, so the asserted records land past those positions.
        Stopwatch syncing = Stopwatch.StartNew();
        for (int round = 0; synced.Count < 4; round++)
        {
            Assert.True(syncing.Elapsed < Patience, $"the consumer handled sync records of {synced.Count} of 4 keys after the restart");
            for (int k = 0; k < 4; k++)
            {
                if (!synced.ContainsKey($"k{k}"))
                {
                    string id = $"sync-{round}-{k}";
                    await PublishWithRetryAsync(sender, new KfAccountChanged(id) { AggregateId = $"k{k}" });
                    syncSent.Add(id);
                }
            }

            await Task.Delay(200);
        }

        // The caller retries a send that failed while the broker came back; only sends that returned count.
        for (int i = 0; i < 20; i++)
        {
            await PublishWithRetryAsync(sender, new KfAccountChanged($"after-{i}") { AggregateId = $"k{i % 4}" });
            ledger.Published($"after-{i}");
        }

        await ledger.WaitAllHandledAsync(Patience);
        // The outage may replay records the consumer had handled but not committed; the mock's restart forgets the
        // committed offsets anyway, so only "nothing lost" and "nothing invented" are asserted, not the duplicate count.
        ledger.AssertPassRule(maxDuplicates: int.MaxValue);
        Assert.All(synced.Values, id => Assert.Contains(id, syncSent));
        Assert.Equal(0, ledger.Times("during"));
        await Eventually.TrueAsync(() => consumerHealth.CheckHealthAsync(new HealthCheckContext()).Result.Status == HealthStatus.Healthy, Patience);
        await Eventually.TrueAsync(() => senderHealth.CheckHealthAsync(new HealthCheckContext()).Result.Status == HealthStatus.Healthy, Patience);
        await Eventually.TrueAsync(() => Interlocked.Read(ref restorations) >= 1, Patience, () => $"restorations {restorations}");
    }

    private static async Task PublishWithRetryAsync(IMessageBus bus, KfAccountChanged message)
    {
        Stopwatch waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await bus.PublishAsync(message);
                return;
            }
            catch (KafkaSendException) when (waited.Elapsed < Patience)
            {
                await Task.Delay(100);
            }
        }
    }
}
