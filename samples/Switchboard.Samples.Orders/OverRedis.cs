using System.Runtime.InteropServices;
using Switchboard;
using Switchboard.Redis;

namespace Orders;

/// <summary>
/// The order flow across two processes over Redis Streams. In one terminal, a worker that handles payments and order
/// events:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --redis 127.0.0.1:6379 worker</code>
/// In another, the web front that publishes an order and waits for the worker's receipt:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --redis 127.0.0.1:6379</code>
/// Start several workers to see them share the work (one consumer group, "payments").
/// </summary>
public static class OverRedis
{
    public static async Task RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--redis");
        string connection = at + 1 < args.Length && !args[at + 1].StartsWith('-') && args[at + 1] != "worker" ? args[at + 1] : "127.0.0.1:6379";
        bool worker = args.Contains("worker");
        RedisTransportOptions options = new() { ConnectionString = connection, StreamPrefix = "orders-sample" };

        if (worker)
        {
            await RunWorkerAsync(options);
        }
        else
        {
            await RunWebAsync(options);
        }
    }

    private static async Task RunWorkerAsync(RedisTransportOptions options)
    {
        PaymentDesk payments = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "payments") // the consumer group: workers with this name share the work
            .UseRedis(options)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>()
            .Handle<OrderCreated>(e => Narrator.Handler("email", $"confirmation for {e.OrderId} sent to {e.Customer} ({Narrator.Money(e.AmountCents)})"))
            .Handle<ChargePayment, PaymentReceipt>(command =>
            {
                PaymentReceipt receipt = payments.Charge(command);
                Narrator.Handler("payments", $"charged {command.OrderId}: {receipt.ReceiptId}");
                return receipt;
            }));

        Console.WriteLine($"worker 'payments' consuming from Redis (prefix '{options.StreamPrefix}'); Ctrl+C to stop.");
        using CancellationTokenSource stop = new();
        // Ctrl+C, or SIGTERM from a process manager: shut down gracefully, leaving nothing unacknowledged behind.
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
        Console.WriteLine($"stopped (drained: {report.Completed}, left unacknowledged for another worker: {report.InFlightAbandoned}).");

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task RunWebAsync(RedisTransportOptions options)
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseRedis(options)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>());

        Narrator.Step("PublishAsync(OrderCreated) over Redis: returns once Redis has it; a worker sends the email");
        await bus.PublishAsync(new OrderCreated("ord-r1", "alice", 1999));
        Narrator.Said("published.");

        Narrator.Step("RequestAsync(ChargePayment) over Redis: a worker charges, the receipt comes back through the response store");
        PaymentReceipt receipt = await bus.RequestAsync(new ChargePayment("ord-r1", 1999), new RequestOptions { Timeout = TimeSpan.FromSeconds(30) });
        Narrator.Said($"receipt from the worker: {receipt}");
    }
}
