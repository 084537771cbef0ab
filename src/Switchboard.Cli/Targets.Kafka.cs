using Switchboard.Kafka;
using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>The <c>--kafka</c> target: one consumer group of one destination, read straight from the brokers.</summary>
internal static partial class Targets
{
    private const string KafkaName = "kafka";

    /// <summary>
    /// Kafka can list consumer groups, but not which of them are Switchboard's nor their destinations (and the project's
    /// test broker has no ListGroups), so the group to read is named, as for RabbitMQ.
    /// </summary>
    private static void AddKafka(CliArguments args, string bootstrapServers, Settings settings, List<OperationsSource> sources, List<IAsyncDisposable> owned)
    {
        string destination = args.Get("destination") ?? throw new CliUsageException("--kafka needs --destination and --group: name the consumer group to read (the bus name of the service that consumes).");
        string group = args.Get("group") ?? throw new CliUsageException("--kafka needs --group (the consumer group: the bus name of the service that consumes).");
        KafkaTransportOptions options = new()
        {
            BootstrapServers = bootstrapServers,
            TopicPrefix = args.Get("topic-prefix") ?? settings.Get("topicPrefix") ?? string.Empty,
            ClientId = "switchboard-cli",
            // Reading and replaying never create a topic: a missing one reads as empty.
            CreateTopics = false,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            // Validate never quotes the values (the bootstrap servers may carry credentials in raw settings).
            throw new CliUsageException(ex.Message);
        }

        KafkaTransport transport = new(options);
        owned.Add(transport);
        sources.Add(OperationsSource.ForTransport(transport, destination, group));
    }
}
