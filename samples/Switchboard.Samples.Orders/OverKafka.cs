using System.Runtime.InteropServices;
using Switchboard;
using Switchboard.Kafka;

namespace Orders;

/// <summary>
/// The order flow across two processes over Kafka. In one terminal, a worker that handles payments and order events:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --kafka 127.0.0.1:9092 worker</code>
/// In another, the web front that publishes orders and enqueues their payments:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --kafka 127.0.0.1:9092</code>
/// Start several workers to see the group share the partitions. (Without a Kafka at hand: <c>scripts/servers.sh start
/// kafka</c> runs librdkafka's mock cluster and writes its address to <c>.servers/kafka/bootstrap</c>.)
/// </summary>
public static class OverKafka
{
    public static async Task RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--kafka");
        string bootstrap = at + 1 < args.Length && !args[at + 1].StartsWith('-') && args[at + 1] != "worker" ? args[at + 1] : "127.0.0.1:9092";
        KafkaTransportOptions options = new()
        {
            BootstrapServers = bootstrap,
            TopicPrefix = "orders-sample.",
            // Topics are created on first use by brokers with auto.create.topics.enable (Kafka's default, and the mock);
            // where the application may create its own topics, leave CreateTopics on and set Partitions.
            CreateTopics = false,
            // A worker's receivers (one per topic) join the group one after the other. librdkafka's mock broker holds every
            // join for session.timeout.ms − 1 s (a real broker completes it once the members have rejoined), so with Kafka's
            // default 45 s the worker took ~45 s to get its partitions there. 6 s is the least a broker accepts by default.
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(2),
        };

        if (args.Contains("worker"))
        {
            await RunWorkerAsync(options);
        }
        else
        {
            await RunWebAsync(options);
        }
    }

    private static async Task RunWorkerAsync(KafkaTransportOptions options)
    {
        PaymentDesk payments = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "payments") // the consumer group: workers with this name share the partitions
            .UseKafka(options)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>()
            .Handle<OrderCreated>(e => Narrator.Handler("email", $"confirmation for {e.OrderId} sent to {e.Customer} ({Narrator.Money(e.AmountCents)})"))
            .Handle<ChargePayment, PaymentReceipt>(command =>
            {
                PaymentReceipt receipt = payments.Charge(command);
                Narrator.Handler("payments", $"charged {command.OrderId}: {receipt.ReceiptId}");
                return receipt;
            }));

        Console.WriteLine($"worker 'payments' consuming from Kafka (topic prefix '{options.TopicPrefix}'); Ctrl+C to stop.");
        using CancellationTokenSource stop = new();
        // Ctrl+C, or SIGTERM from a process manager: drain, commit what was handled, leave the group.
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromSeconds(10));
        Console.WriteLine($"stopped (drained: {report.Completed}, left uncommitted for another worker: {report.InFlightAbandoned}).");

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task RunWebAsync(KafkaTransportOptions options)
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseKafka(options)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>());

        Narrator.Step("PublishAsync(OrderCreated) over Kafka: returns once the broker confirmed it; a worker sends the email");
        await bus.PublishAsync(new OrderCreated("ord-k1", "alice", 1999));
        Narrator.Said("published.");

        // Kafka holds no response store: a request that waits for the worker's answer across processes needs one both
        // share (UseResponseStore(new RedisResponseStore(...))). Without it, the payment is enqueued and the worker prints it.
        Narrator.Step("ExecuteAsync(ChargePayment, Wait = false) over Kafka: enqueued, confirmed; a worker charges it");
        await bus.ExecuteAsync(new ChargePayment("ord-k1", 1999), new ExecuteOptions { Wait = false });
        Narrator.Said("payment enqueued.");
    }
}
