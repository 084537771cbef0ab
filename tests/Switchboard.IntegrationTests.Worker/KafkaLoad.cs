using System.Runtime.InteropServices;
using Switchboard.Kafka;

namespace Switchboard.IntegrationTests.Worker;

/// <summary>
/// Mode <c>kafka-load</c>: a Kafka consumer process for the poison-message and graceful-shutdown fault tests. Each handler
/// prints "handling &lt;id&gt;", works 20 ms (cancellable: a handler the bus cancelled prints nothing more) and prints
/// "handled &lt;id&gt;"; a message whose id starts with "poison" prints "failing &lt;id&gt; &lt;attempt&gt;" and throws (3 attempts, 400 ms then
/// 800 ms apart, then dead-lettered). Offsets are committed only by rebalances and the stop (no background commit in
/// practice), at most 16 records per partition are read ahead. SIGTERM stops the bus gracefully (drain, commit, leave the group), prints "stopped"
/// and exits with 0.
/// </summary>
internal static class KafkaLoad
{
    /// <summary>Records of one partition read and not settled at most (the graceful-stop test's bound on duplicates).</summary>
    public const int MaxInFlightPerPartition = 16;

    public static async Task<int> RunAsync(string bootstrap, string prefix, string destination, string group)
    {
        using CancellationTokenSource terminate = new();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true; // this process stops by itself, after the bus has stopped
            terminate.Cancel();
        });
        KafkaTransportOptions options = new()
        {
            BootstrapServers = bootstrap,
            TopicPrefix = prefix,
            CreateTopics = false,
            Linger = TimeSpan.FromMilliseconds(1),
            SessionTimeout = TimeSpan.FromSeconds(2),
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            MaxPollInterval = TimeSpan.FromSeconds(30),
            // No background commit during the test: what is committed, the stop committed (the graceful-stop test tells).
            CommitInterval = TimeSpan.FromMinutes(10),
            MaxInFlightPerPartition = MaxInFlightPerPartition,
            RevokeTimeout = TimeSpan.FromSeconds(3),
        };
        IMessageBus bus = MessageBus.Create(b => b
            .Configure(o =>
            {
                o.Name = group;
                o.ConsumerConcurrency = 4;
                o.Retry.MaxAttempts = 3;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(400);
                o.Retry.Jitter = false;
            })
            .UseKafka(options)
            .AddMessageType<WorkerAccountChanged>("worker.account-changed")
            .RouteToTransport<WorkerAccountChanged>(destination)
            .Handle<WorkerAccountChanged>(async (e, context, ct) =>
            {
                if (e.Id.StartsWith("poison", StringComparison.Ordinal))
                {
                    Console.WriteLine($"failing {e.Id} {context.Attempt}");
                    throw new InvalidOperationException($"cannot apply {e.Id}");
                }

                Console.WriteLine($"handling {e.Id}");
                await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
                Console.WriteLine($"handled {e.Id}");
            }));
        // Consumers start with the bus; the group is joined in the background (records are read from the group's start).
        Console.WriteLine("ready");
        try
        {
            await Task.Delay(Timeout.Infinite, terminate.Token);
        }
        catch (OperationCanceledException)
        {
        }

        // Graceful: the bus stops taking work, lets the handlers in flight finish, then the receiver commits what was handled
        // and leaves its group.
        await bus.DisposeAsync();
        Console.WriteLine("stopped");
        return 0;
    }
}
