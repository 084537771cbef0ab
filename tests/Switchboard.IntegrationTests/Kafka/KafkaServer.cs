using Switchboard.Kafka;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// The Kafka broker that scripts/servers.sh started (librdkafka's mock cluster, in a process of its own). Without it the
/// tests fail with this message; they never skip.
/// </summary>
public static class KafkaServer
{
    public static string BootstrapServers
        => Environment.GetEnvironmentVariable("SWITCHBOARD_KAFKA") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "SWITCHBOARD_KAFKA is not set, so there is no Kafka to test against. Run scripts/test.sh (it starts librdkafka's mock cluster " +
                "through scripts/servers.sh and sets it), or `scripts/servers.sh start kafka` and export SWITCHBOARD_KAFKA=$(cat .servers/kafka/bootstrap).");

    public static string NewPrefix() => "sbtest-" + Guid.NewGuid().ToString("N")[..12] + ".";

    /// <summary>Options with short timings, so that rebalances and redeliveries take a second or two, not a minute.</summary>
    public static KafkaTransportOptions Options(string prefix, string? bootstrapServers = null) => new()
    {
        BootstrapServers = bootstrapServers ?? BootstrapServers,
        TopicPrefix = prefix,
        Linger = TimeSpan.FromMilliseconds(1),
        SessionTimeout = TimeSpan.FromSeconds(2),
        HeartbeatInterval = TimeSpan.FromMilliseconds(250),
        MaxPollInterval = TimeSpan.FromSeconds(30),
        CommitInterval = TimeSpan.FromMilliseconds(100),
        RevokeTimeout = TimeSpan.FromSeconds(3),
        // The mock broker has no CreateTopics API; it creates topics on first use (4 partitions), as brokers with
        // auto.create.topics.enable do.
        CreateTopics = false,
    };

    /// <summary>
    /// Creates a topic with the given partitions, as an operator would. The mock broker has no CreateTopics API: the request
    /// goes through its host's control directory (SWITCHBOARD_KAFKA_CONTROL, set by scripts/test.sh).
    /// </summary>
    public static Task CreateTopicAsync(string topic, int partitions) => ControlAsync("topic", $"{topic} {partitions}", $"create topic {topic}");

    /// <summary>
    /// Makes the next <paramref name="count"/> requests of one Kafka API (from any client of the broker) fail with
    /// <paramref name="errorCode"/>: a broker-side fault, injected through the mock host's control directory. Tests that use
    /// it run alone (<see cref="KafkaFaultCollection"/>), so that no other test's client meets the fault.
    /// </summary>
    public static Task FailNextRequestsAsync(short apiKey, int errorCode, int count) => ControlAsync("errors", $"{apiKey} {errorCode} {count}", $"inject error {errorCode}");

    private static async Task ControlAsync(string kind, string content, string what)
    {
        string control = Environment.GetEnvironmentVariable("SWITCHBOARD_KAFKA_CONTROL") is { Length: > 0 } dir
            ? dir
            : throw new InvalidOperationException("SWITCHBOARD_KAFKA_CONTROL is not set (scripts/test.sh sets it to .servers/kafka/control).");
        string request = Path.Combine(control, Guid.NewGuid().ToString("N") + "." + kind);
        await File.WriteAllTextAsync(request + ".tmp", content);
        File.Move(request + ".tmp", request);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (File.Exists(request))
        {
            if (DateTime.UtcNow > deadline || File.Exists(request + ".failed"))
            {
                throw new InvalidOperationException($"The Kafka mock broker did not {what} (see .servers/kafka/broker.log).");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>Kafka tests that inject broker faults: they run alone, after the tests that run in parallel.</summary>
[CollectionDefinition(nameof(KafkaFaultCollection), DisableParallelization = true)]
public sealed class KafkaFaultCollection
{
}
