using System.Collections.Concurrent;
using System.Text.Json;
using Switchboard.Kafka;
using Switchboard.Operations;
using Switchboard.Transport;
using static Switchboard.Dashboard.Tests.CliTests;

namespace Switchboard.Dashboard.Tests;

public sealed record KafkaCliCharge(string Id);

/// <summary>
/// The switchboard CLI's <c>--kafka</c> target against the Kafka broker process (librdkafka's mock cluster, from
/// scripts/servers.sh), and the numbers a bus's operations API (what the page shows) reads for a Kafka destination.
/// </summary>
public sealed class KafkaCliTests : IAsyncLifetime
{
    private const string Group = "kbilling";
    private readonly string _prefix = "sbcli-" + Guid.NewGuid().ToString("N")[..12] + ".";
    private readonly ConcurrentDictionary<string, bool> _failing = new();
    private readonly ConcurrentQueue<string> _handled = new();
    private KafkaTransport _transport = null!;
    private IMessageBus _bus = null!;

    private static string Bootstrap => Environment.GetEnvironmentVariable("SWITCHBOARD_KAFKA") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("SWITCHBOARD_KAFKA is not set: run scripts/test.sh (it starts librdkafka's mock cluster through scripts/servers.sh) or export it.");

    public Task InitializeAsync()
    {
        _transport = new KafkaTransport(new KafkaTransportOptions
        {
            BootstrapServers = Bootstrap,
            TopicPrefix = _prefix,
            Linger = TimeSpan.FromMilliseconds(1),
            SessionTimeout = TimeSpan.FromSeconds(2),
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            MaxPollInterval = TimeSpan.FromSeconds(30),
            CommitInterval = TimeSpan.FromMilliseconds(100),
            CreateTopics = false, // the mock has no CreateTopics API; it creates topics on first use
        });
        _bus = MessageBus.Create(b => b
            .Configure(o =>
            {
                o.Name = Group;
                o.Retry.MaxAttempts = 1;
            })
            .UseKafka(_transport)
            .RouteToTransport<KafkaCliCharge>("charges")
            .Handle<KafkaCliCharge>(c =>
            {
                if (_failing.ContainsKey(c.Id))
                {
                    throw new InvalidOperationException($"card declined for {c.Id}");
                }

                _handled.Enqueue(c.Id);
            }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _transport.DisposeAsync();
    }

    [Fact]
    public async Task Kafka_StatusListReplay_StraightFromTheBrokers_AndTheBusOperationsReadTheLag()
    {
        _failing["k-1"] = true;
        _failing["k-2"] = true;
        foreach (string id in new[] { "k-1", "k-2", "k-3" })
        {
            await _bus.PublishAsync(new KafkaCliCharge(id));
        }

        IDeadLetterQueue dlq = _transport.GetDeadLetterQueue("charges", Group);
        await DashboardApp.WaitForAsync(async () => await dlq.CountAsync() == 2 && _handled.Contains("k-3"), "two Kafka dead letters and k-3 handled");
        string[] target = ["--kafka", "--topic-prefix", _prefix, "--destination", "charges", "--group", Group];

        Run status = await CliAsync(["status", .. target, "--json"]);
        Run table = await CliAsync(["status", .. target]);
        Run list = await CliAsync(["dlq", "list", .. target, "--json"]);
        Assert.Equal(0, status.ExitCode);
        JsonElement charges = Assert.Single(status.Json.EnumerateArray());
        Assert.Equal("kafka/charges/" + Group, charges.GetProperty("source").GetString());
        Assert.Equal(2, charges.GetProperty("deadLetters").GetInt64());
        Assert.Contains("card declined", table.Output, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Single(list.Json.EnumerateArray()).GetProperty("items").GetArrayLength());

        _failing.Clear();
        Run replay = await CliAsync(["dlq", "replay", .. target, "--source", "kafka/charges/" + Group, "--all", "--yes", "--json"]);
        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(2, replay.Json.GetProperty("succeeded").GetInt32());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_handled.Contains("k-1") && _handled.Contains("k-2")), "both replays handled");
        Assert.Equal(0, await dlq.CountAsync());

        // What the page shows for the bus's own Kafka destination: the group's lag, read from the committed offsets.
        OperationsSource source = Assert.Single(_bus.GetOperations().Sources, s => s.Id == "kafka/charges/" + Group);
        await DashboardApp.WaitForAsync(async () => (await SwitchboardOperations.GetStatusAsync(source)).Info.Lag == 0, "the group's lag at 0 once everything was handled and committed");
        Assert.DoesNotContain(Bootstrap, status.Output + table.Output + list.Output + replay.Output + replay.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kafka_WithoutAGroup_IsAUsageError()
    {
        Run withoutGroup = await CliAsync("status", "--kafka", "--destination", "charges");
        Run withoutDestination = await CliAsync("status", "--kafka", "--group", Group);

        Assert.Equal(2, withoutGroup.ExitCode);
        Assert.Equal(2, withoutDestination.ExitCode);
        Assert.Contains("--group", withoutGroup.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Bootstrap, withoutGroup.Output + withoutGroup.Error, StringComparison.Ordinal);
    }
}
