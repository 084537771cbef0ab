using System.Runtime.InteropServices;
using StackExchange.Redis;
using Switchboard;
using Switchboard.AmazonSqs;
using Switchboard.Redis;

namespace Orders;

/// <summary>
/// Seed 000's scenario across two processes over Amazon SQS, with the results through a Redis response store. In one
/// terminal, the worker:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --sqs http://127.0.0.1:9480 --response-store 127.0.0.1:6379 worker</code>
/// In another, the web front that executes orders (wait for the result, or only enqueue):
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --sqs http://127.0.0.1:9480 --response-store 127.0.0.1:6379</code>
/// Without a URL after <c>--sqs</c> the region and credentials come from the AWS SDK's normal chain (AWS_REGION, profile);
/// with one (an emulator), dummy keys are used unless AWS_ACCESS_KEY_ID is set.
/// </summary>
public static class OverSqs
{
    public static async Task RunAsync(string[] args)
    {
        string? url = Value(args, "--sqs");
        string store = Value(args, "--response-store") ?? "127.0.0.1:6379";
        SqsTransportOptions options = new() { QueueNamePrefix = "orders-sample-", VisibilityTimeout = TimeSpan.FromSeconds(30) };
        if (url is not null)
        {
            options.ServiceUrl = new Uri(url);
            if (Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is null)
            {
                options.AccessKeyId = "sample";
                options.SecretAccessKey = "sample";
            }
        }

        using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(store);
        RedisResponseStore responses = new(redis, "orders-sample:response:");
        if (args.Contains("worker"))
        {
            await RunWorkerAsync(options, responses);
        }
        else
        {
            await RunWebAsync(options, responses);
        }
    }

    private static async Task RunWorkerAsync(SqsTransportOptions options, RedisResponseStore responses)
    {
        PaymentDesk payments = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "payments") // the consumer group: one SQS queue, shared by every worker with this name
            .UseAmazonSqs(options)
            .UseResponseStore(responses)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>()
            .Handle<OrderCreated>(e => Narrator.Handler("email", $"confirmation for {e.OrderId} sent to {e.Customer} ({Narrator.Money(e.AmountCents)})"))
            .Handle<ChargePayment, PaymentReceipt>(async (command, ct) =>
            {
                if (command.AmountCents > 1_000_000)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), ct); // a slow bank: the lease on the SQS message is extended meanwhile
                }

                PaymentReceipt receipt = payments.Charge(command);
                Narrator.Handler("payments", $"charged {command.OrderId}: {receipt.ReceiptId}");
                return receipt;
            }));

        Console.WriteLine($"worker 'payments' consuming from SQS (queues '{options.QueueNamePrefix}*--payments'); Ctrl+C to stop.");
        using CancellationTokenSource stop = new();
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
        Console.WriteLine($"stopped (drained: {report.Completed}, left for another worker: {report.InFlightAbandoned}).");

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task RunWebAsync(SqsTransportOptions options, RedisResponseStore responses)
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseAmazonSqs(options)
            .UseResponseStore(responses)
            .RouteToTransport<OrderCreated>()
            .RouteToTransport<ChargePayment>());

        Narrator.Step("PublishAsync(OrderCreated) over SQS: returns once SQS has it in every subscribing group's queue");
        await bus.PublishAsync(new OrderCreated("ord-s1", "alice", 1999));
        Narrator.Said("published.");

        Narrator.Step("ExecuteAsync(ChargePayment, Wait = true): seed 000's execute_and_wait; the receipt comes back through Redis");
        object? receipt = await bus.ExecuteAsync(new ChargePayment("ord-s1", 1999), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(30) });
        Narrator.Said($"receipt from the worker: {receipt}");

        Narrator.Step("ExecuteAsync(ChargePayment, Wait = false): seed 000's execute(wait=False); only enqueued");
        object? nothing = await bus.ExecuteAsync(new ChargePayment("ord-s2", 500), new ExecuteOptions { Wait = false });
        Narrator.Said($"returned at once with {nothing?.ToString() ?? "null"}; the worker charges it in its own time.");

        Narrator.Step("ExecuteAsync with a 1 s timeout on a slow charge: TimeoutException");
        try
        {
            await bus.ExecuteAsync(new ChargePayment("ord-s3", 2_000_000), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(1) });
        }
        catch (TimeoutException ex)
        {
            Narrator.Said($"TimeoutException: {ex.Message}");
        }
    }

    private static string? Value(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && !args[at + 1].StartsWith('-') && args[at + 1] != "worker" ? args[at + 1] : null;
    }
}
