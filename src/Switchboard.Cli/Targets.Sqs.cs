using Switchboard.AmazonSqs;
using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>The <c>--sqs</c> target: Amazon SQS (or an emulator), its credentials from the AWS SDK's own chain only.</summary>
internal static partial class Targets
{
    /// <summary>
    /// Finds every consumer group SQS holds under the queue-name prefix (group queues and dead-letter queues named
    /// <c>{prefix}{destination}--{group}</c>). The service URL comes from <c>--sqs</c>, <c>SWITCHBOARD_SQS</c> or the settings
    /// file's <c>"sqs"</c>; without one, AWS itself in <c>--region</c> (or the SDK's region). Credentials are never taken
    /// from the command line: the SDK reads them (environment, profile, instance role).
    /// </summary>
    private static async Task AddSqsAsync(CliArguments args, Func<string, string?> environment, Settings settings, List<OperationsSource> sources, List<IAsyncDisposable> owned, CancellationToken cancellationToken)
    {
        string? url = args.Get("sqs") is { Length: > 0 } value ? value
            : environment("SWITCHBOARD_SQS") is { Length: > 0 } fromEnvironment ? fromEnvironment
            : settings.Get("sqs") is { Length: > 0 } fromSettings ? fromSettings
            : null;
        Uri? serviceUrl = null;
        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out serviceUrl))
        {
            throw new CliUsageException("--sqs takes the service URL of an SQS endpoint (http://host:port); for AWS itself leave it out and give --region.");
        }

        SqsTransportOptions options = new()
        {
            ServiceUrl = serviceUrl,
            Region = args.Get("region") ?? settings.Get("region"),
            QueueNamePrefix = args.Get("queue-prefix") ?? settings.Get("queuePrefix") ?? "switchboard-",
            Fifo = args.Has("fifo"),
            // A tool reads and settles what is there; it never creates queues.
            CreateTopology = false,
        };
        SqsTransport transport;
        try
        {
            transport = new SqsTransport(options);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException($"--sqs: {ex.Message}");
        }

        owned.Add(transport);
        foreach (SqsConsumerGroup group in await transport.ListConsumerGroupsAsync(cancellationToken).ConfigureAwait(false))
        {
            sources.Add(OperationsSource.ForTransport(transport, group.Destination, group.ConsumerGroup));
        }
    }
}
