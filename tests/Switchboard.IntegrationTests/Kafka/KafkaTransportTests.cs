using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Kafka;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>What a partitioned log needs beyond the shared suite: watermark commits, key-scoped retries, pausing, stream info, health.</summary>
public sealed class KafkaTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly string _prefix = KafkaServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task OutOfOrderCompletion_ThenStop_CommitsOnlyTheContiguousHandledWatermark_AndTheRestIsDeliveredAgain()
    {
        const string destination = "watermark";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        ITransportReceiver first = await transport.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "first"), CancellationToken.None);
        for (int i = 0; i < 10; i++)
        {
            await transport.SendAsync(Message(destination, $"m-{i}", key: $"key-{i % 3}"), CancellationToken.None);
        }

        List<ReceivedMessage> received = [];
        using (CancellationTokenSource timeout = new(Patience))
        {
            // Keys 0, 1, 2 each release one record at a time: settle what is handed out, except m-3 (key 0), completing
            // later records before earlier ones where the keys allow it.
            while (received.Count < 10)
            {
                ReceivedMessage next = await first.ReceiveAsync(timeout.Token);
                received.Add(next);
                if (Body(next) != "m-3")
                {
                    await next.AckAsync(CancellationToken.None);
                }

                if (received.Count == 8)
                {
                    break; // key 0's m-6 and m-9 stay behind the unsettled m-3
                }
            }
        }

        Assert.DoesNotContain(received, r => Body(r) is "m-6" or "m-9");
        await first.DisposeAsync();
        KafkaStreamInfo info = await transport.GetStreamInfoAsync(destination, "billing");
        KafkaPartitionInfo partition = Assert.Single(info.Partitions);
        Assert.Equal(3, partition.CommittedOffset); // m-0..m-2 handled; m-3 not: never committed past it
        Assert.Equal(10, partition.EndOffset);
        Assert.Equal(7, partition.Lag);

        ITransportReceiver second = Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "billing", "second"), CancellationToken.None));
        using CancellationTokenSource again = new(Patience);
        ReceivedMessage redelivered = await second.ReceiveAsync(again.Token);
        Assert.Equal("m-3", Body(redelivered));
        Assert.True(redelivered.DeliveryCount >= 2, $"delivery count {redelivered.DeliveryCount}");
    }

    [Fact]
    public async Task PoisonMessage_IsDeadLettered_WhileTheOtherKeysOfItsPartitionKeepFlowing_AndItsKeyWaitsForIt()
    {
        const string destination = "poison";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        ConcurrentQueue<string> handled = new();
        IMessageBus sender = await BusAsync("web", b => b.RouteToTransport<KfAccountChanged>(destination));
        await BusAsync("billing", b => b
            .Configure(o =>
            {
                o.ConsumerConcurrency = 4;
                o.Retry.MaxAttempts = 3;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(400);
                o.Retry.Jitter = false;
            })
            .RouteToTransport<KfAccountChanged>(destination)
            .Handle<KfAccountChanged>(e =>
            {
                if (e.Id == "poison-0")
                {
                    throw new InvalidOperationException("cannot apply");
                }

                handled.Enqueue(e.Id);
            }));

        await sender.PublishAsync(new KfAccountChanged("poison-0") { AggregateId = "poison" });
        await sender.PublishAsync(new KfAccountChanged("poison-1") { AggregateId = "poison" });
        for (int i = 0; i < 20; i++)
        {
            await sender.PublishAsync(new KfAccountChanged($"other-{i}") { AggregateId = $"other-{i % 4}" });
        }

        IDeadLetterQueue dlq = ((KafkaTransport)Transports[1]).GetDeadLetterQueue(destination, "billing");
        await Eventually.TrueAsync(() => handled.Count(id => id.StartsWith("other-", StringComparison.Ordinal)) == 20, Patience);
        // The other keys, behind the poison message in the same partition, did not wait for its retries.
        Assert.Equal(0, await dlq.CountAsync());
        Assert.DoesNotContain("poison-1", handled);

        await Eventually.TrueAsync(() => handled.Contains("poison-1"), Patience);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Contains("poison-0", Encoding.UTF8.GetString(dead.Message.Body.Span));
        Assert.Equal("poison", dead.Message.PartitionKey);
        Assert.Equal(3, dead.Reason.Attempts);
    }

    [Fact]
    public async Task HandlerLongerThanMaxPollInterval_DoesNotCostTheConsumerItsGroup()
    {
        const string destination = "long";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        KafkaTransportOptions options = KafkaServer.Options(_prefix);
        options.MaxPollInterval = TimeSpan.FromSeconds(2);
        ConcurrentQueue<(string Id, int Attempt)> handled = new();
        IMessageBus sender = await BusAsync("web", b => b.RouteToTransport<KfAccountChanged>(destination), options);
        await BusAsync("billing", b => b.RouteToTransport<KfAccountChanged>(destination).Handle<KfAccountChanged>(async (e, context, ct) =>
        {
            if (e.Id == "long")
            {
                await Task.Delay(TimeSpan.FromSeconds(4), ct);
            }

            handled.Enqueue((e.Id, context.Attempt));
        }), options);

        await sender.PublishAsync(new KfAccountChanged("long") { AggregateId = "a" });
        await sender.PublishAsync(new KfAccountChanged("after") { AggregateId = "b" });
        await Eventually.TrueAsync(() => handled.Count >= 2, Patience);

        // Committed to the end: an offset is committed only after its handlers ran, so had the consumer lost its group and been
        // given "long" again, that second delivery would be in `handled` before the lag could reach 0.
        await Eventually.TrueAsync(() => ((KafkaTransport)Transports[1]).GetStreamInfoAsync(destination, "billing").Result.Lag == 0, Patience);
        Assert.Equal(2, handled.Count);
        Assert.All(handled, h => Assert.Equal(1, h.Attempt));
        KafkaStreamInfo info = await ((KafkaTransport)Transports[1]).GetStreamInfoAsync(destination, "billing");
        Assert.Equal(2, info.Partitions.Sum(p => p.EndOffset));
    }

    [Fact]
    public async Task HealthCheck_ReportsHealthyAgainstTheBroker_AndUnhealthyWithoutOne_NeverQuotingTheAddress()
    {
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        HealthCheckResult healthy = await new KafkaHealthCheck(transport).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, healthy.Status);

        KafkaTransportOptions nowhere = KafkaServer.Options(_prefix);
        nowhere.BootstrapServers = "127.0.0.1:1";
        nowhere.Settings["sasl.password"] = "secret-password";
        nowhere.HealthCheckTimeout = TimeSpan.FromSeconds(1);
        KafkaTransport down = Own(new KafkaTransport(nowhere));
        // librdkafka reports that no broker is reachable: the core outage counter and state hear of it.
        await Eventually.TrueAsync(() => down.ConnectionMonitor.Outages >= 1 && !down.ConnectionMonitor.IsConnected, Patience);
        HealthCheckResult unhealthy = await new KafkaHealthCheck(down).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.DoesNotContain("127.0.0.1", unhealthy.Description);
        Assert.DoesNotContain("secret-password", unhealthy.Description);
    }

    [Fact]
    public async Task Send_WithoutABroker_FailsWithinTheMessageTimeout_InsteadOfReportingSuccess()
    {
        KafkaTransportOptions nowhere = KafkaServer.Options(_prefix);
        nowhere.BootstrapServers = "127.0.0.1:1";
        nowhere.MessageTimeout = TimeSpan.FromSeconds(1);
        KafkaTransport transport = Own(new KafkaTransport(nowhere));
        KafkaSendException ex = await Assert.ThrowsAsync<KafkaSendException>(async () => await transport.SendAsync(Message("nowhere", "x", key: null), CancellationToken.None));
        Assert.Contains("did not confirm", ex.Message);
    }

    [Fact]
    public void Options_AreValidated_WithMessagesThatNameTheOption()
    {
        Assert.Contains("BootstrapServers", Assert.Throws<ArgumentException>(() => new KafkaTransport(new KafkaTransportOptions())).Message);
        KafkaTransportOptions leader = KafkaServer.Options(_prefix);
        leader.Acks = KafkaAcks.Leader;
        Assert.Contains("EnableIdempotence", Assert.Throws<ArgumentException>(() => leader.Validate()).Message);
        KafkaTransportOptions heartbeat = KafkaServer.Options(_prefix);
        heartbeat.HeartbeatInterval = TimeSpan.FromSeconds(5);
        Assert.Contains("HeartbeatInterval", Assert.Throws<ArgumentException>(() => heartbeat.Validate()).Message);
        KafkaTransportOptions prefix = KafkaServer.Options("bad prefix/");
        Assert.Contains("TopicPrefix", Assert.Throws<ArgumentException>(() => prefix.Validate()).Message);
    }

    private List<ITransport> Transports { get; } = [];

    private async Task<IMessageBus> BusAsync(string name, Action<BusBuilder> configure, KafkaTransportOptions? options = null)
    {
        KafkaTransport transport = new(options ?? KafkaServer.Options(_prefix));
        Transports.Add(transport);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.UseKafka(transport);
            configure(b);
        });
        _owned.Add(transport);
        _owned.Add(bus);
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        return bus;
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private static string Body(ReceivedMessage message) => Encoding.UTF8.GetString(message.Message.Body.Span);

    private static TransportMessage Message(string destination, string body, string? key) => new()
    {
        Destination = destination,
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N") },
        Body = Encoding.UTF8.GetBytes(body),
        PartitionKey = key,
    };
}

public sealed record KfAccountChanged(string Id) : DomainEvent;
