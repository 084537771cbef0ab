using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Switchboard;
using Switchboard.Benchmarks.RabbitMQ;
using Switchboard.RabbitMQ;
using Wolverine;
using Wolverine.RabbitMQ;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.RabbitMQ -- [amqp-uri] [messages] [producers]
// Measures end-to-end throughput in one run against one broker: publish with a confirm awaited per message, persistent,
// mandatory → delivered with the same prefetch → handled → acknowledged one by one. Contenders:
//   1. raw RabbitMQ.Client 7 doing that work by hand (one exchange, one queue, confirm-tracking channels);
//   2. Switchboard: publish on one bus, handled and acknowledged on another;
//   3. MassTransit.RabbitMQ 8.5 (the last free line): Publish (publisher confirmation on, its default) → a receive
//      endpoint with the same prefetch.
// Each uses the same message size, prefetch and number of concurrent producers (each awaiting its own confirms).
//   4. WolverineFx.RabbitMQ: PublishAsync to a queue endpoint sent inline (awaited), publisher confirms with tracking
//      turned on (off by default) → a listener processing inline with the same prefetch.
Uri uri = new(args.Length > 0 ? args[0] : "amqp://guest:guest@127.0.0.1:5672/");
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
int producers = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
const ushort prefetch = 64;
string run = "bench-" + Guid.NewGuid().ToString("N")[..8];

Console.WriteLine($"RabbitMQ at {uri.Host}:{uri.Port}; {messages} messages, {producers} producers awaiting confirms, prefetch {prefetch}; {Environment.ProcessorCount} cores");

await RawAsync(uri, $"{run}-warm-raw", 2000, producers, prefetch);
await BusAsync(uri, $"{run}-warm-bus", 2000, producers, prefetch);
await MassTransitAsync(uri, $"{run}-warm-mt", 2000, producers, prefetch);
await WolverineAsync(uri, $"{run}-warm-wolverine", 2000, producers, prefetch);
List<double> raw = [], bus = [], mt = [], wolverine = [];
for (int i = 0; i < 3; i++)
{
    raw.Add(await RawAsync(uri, $"{run}-raw{i}", messages, producers, prefetch));
    bus.Add(await BusAsync(uri, $"{run}-bus{i}", messages, producers, prefetch));
    mt.Add(await MassTransitAsync(uri, $"{run}-mt{i}", messages, producers, prefetch));
    wolverine.Add(await WolverineAsync(uri, $"{run}-wolverine{i}", messages, producers, prefetch));
}

double rawRate = Median(raw), busRate = Median(bus), mtRate = Median(mt), wolverineRate = Median(wolverine);
Console.WriteLine();
Console.WriteLine("| throughput (median of 3) | messages/s | ratio |");
Console.WriteLine("|---|---:|---:|");
Console.WriteLine($"| raw RabbitMQ.Client 7: confirm → consume → ack | {rawRate:N0} | 100 % |");
Console.WriteLine($"| Switchboard publish → handle → ack | {busRate:N0} | {busRate / rawRate:P0} |");
Console.WriteLine($"| MassTransit.RabbitMQ 8.5 Publish → consume | {mtRate:N0} | {mtRate / rawRate:P0} |");
Console.WriteLine($"| WolverineFx.RabbitMQ PublishAsync (inline) → handle (inline) | {wolverineRate:N0} | {wolverineRate / rawRate:P0} |");
Console.WriteLine($"Switchboard / MassTransit: {busRate / mtRate:0.00} ×; Switchboard / Wolverine: {busRate / wolverineRate:0.00} ×");
return;

static async Task<double> WolverineAsync(Uri uri, string name, int count, int producers, ushort prefetch)
{
    WolverineCounter.Reset(count);
    using IHost host = await Host.CreateDefaultBuilder()
        .ConfigureLogging(logging => logging.ClearProviders())
        .UseWolverine(opts =>
        {
            opts.Discovery.DisableConventionalDiscovery().IncludeType<WolverineOrderHandler>();
            // Publisher confirms are off by default in Wolverine: on, with tracking, as for every contender.
            opts.UseRabbitMq(uri).AutoProvision().ConfigureChannelCreation(o =>
            {
                o.PublisherConfirmationsEnabled = true;
                o.PublisherConfirmationTrackingEnabled = true;
            });
            opts.PublishMessage<BenchOrderCreated>().ToRabbitQueue(name).SendInline();
            opts.ListenToRabbitQueue(name).PreFetchCount(prefetch).ProcessInline();
        })
        .StartAsync();
    Wolverine.IMessageBus bus = host.Services.GetRequiredService<Wolverine.IMessageBus>();
    try
    {
        Stopwatch clock = Stopwatch.StartNew();
        BenchOrderCreated message = new("ord-1", 1999);
        int next = 0;
        Task[] senders = new Task[producers];
        for (int p = 0; p < producers; p++)
        {
            senders[p] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    await bus.PublishAsync(message);
                }
            });
        }

        await Task.WhenAll(senders);
        await WolverineCounter.Done.Task;
        return count / clock.Elapsed.TotalSeconds;
    }
    finally
    {
        await host.StopAsync();
        ConnectionFactory factory = new() { Uri = uri };
        await using IConnection connection = await factory.CreateConnectionAsync();
        await using IChannel cleanup = await connection.CreateChannelAsync();
        await cleanup.QueueDeleteAsync(name);
    }
}

static async Task<double> MassTransitAsync(Uri uri, string name, int count, int producers, ushort prefetch)
{
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    string[] userInfo = uri.UserInfo.Split(':');
    IBusControl bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
    {
        cfg.Host(uri.Host, (ushort)uri.Port, "/", h =>
        {
            h.Username(Uri.UnescapeDataString(userInfo[0]));
            h.Password(Uri.UnescapeDataString(userInfo[1]));
            h.PublisherConfirmation = true;
        });
        cfg.ReceiveEndpoint(name, e =>
        {
            e.PrefetchCount = prefetch;
            e.Handler<BenchOrderCreated>(_ =>
            {
                if (Interlocked.Increment(ref handled) == count)
                {
                    done.TrySetResult();
                }

                return Task.CompletedTask;
            });
        });
    });
    await bus.StartAsync();
    try
    {
        Stopwatch clock = Stopwatch.StartNew();
        BenchOrderCreated message = new("ord-1", 1999);
        int next = 0;
        Task[] senders = new Task[producers];
        for (int p = 0; p < producers; p++)
        {
            senders[p] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    await bus.Publish(message);
                }
            });
        }

        await Task.WhenAll(senders);
        await done.Task;
        return count / clock.Elapsed.TotalSeconds;
    }
    finally
    {
        await bus.StopAsync();
        ConnectionFactory factory = new() { Uri = uri };
        await using IConnection connection = await factory.CreateConnectionAsync();
        await using IChannel cleanup = await connection.CreateChannelAsync();
        await cleanup.QueueDeleteAsync(name);
        await cleanup.ExchangeDeleteAsync(name);
    }
}

static async Task<double> RawAsync(Uri uri, string name, int count, int producers, ushort prefetch)
{
    ConnectionFactory factory = new() { Uri = uri };
    await using IConnection producerConnection = await factory.CreateConnectionAsync();
    await using IConnection consumerConnection = await factory.CreateConnectionAsync();
    await using IChannel setup = await consumerConnection.CreateChannelAsync();
    await setup.ExchangeDeclareAsync(name, global::RabbitMQ.Client.ExchangeType.Topic, durable: true);
    await setup.QueueDeclareAsync(name + ".q", durable: true, exclusive: false, autoDelete: false);
    await setup.QueueBindAsync(name + ".q", name, "orders");

    await using IChannel consumerChannel = await consumerConnection.CreateChannelAsync();
    await consumerChannel.BasicQosAsync(0, prefetch, false);
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    AsyncEventingBasicConsumer consumer = new(consumerChannel);
    consumer.ReceivedAsync += async (_, delivery) =>
    {
        _ = delivery.Body.ToArray();
        await consumerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        if (Interlocked.Increment(ref handled) == count)
        {
            done.TrySetResult();
        }
    };
    await consumerChannel.BasicConsumeAsync(name + ".q", autoAck: false, consumer);

    byte[] body = "{\"orderId\":\"ord-1\",\"amountCents\":1999}"u8.ToArray();
    Stopwatch clock = Stopwatch.StartNew();
    int next = 0;
    Task[] senders = new Task[producers];
    for (int p = 0; p < producers; p++)
    {
        senders[p] = Task.Run(async () =>
        {
            await using IChannel channel = await producerConnection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            while (Interlocked.Increment(ref next) <= count)
            {
                BasicProperties properties = new()
                {
                    Persistent = true,
                    MessageId = Guid.NewGuid().ToString("N"),
                    ContentType = "application/json",
                    Headers = new Dictionary<string, object?> { ["ce-type"] = "OrderCreated", ["ce-id"] = "x" },
                };
                await channel.BasicPublishAsync(name, "orders", mandatory: true, properties, body);
            }
        });
    }

    await Task.WhenAll(senders);
    await done.Task;
    double rate = count / clock.Elapsed.TotalSeconds;
    await setup.QueueDeleteAsync(name + ".q");
    await setup.ExchangeDeleteAsync(name);
    return rate;
}

static async Task<double> BusAsync(Uri uri, string exchange, int count, int producers, ushort prefetch)
{
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Switchboard.RabbitMQ.RabbitMqTransportOptions Options() => new() { Uri = uri, ExchangeName = exchange, Prefetch = prefetch, PublishChannelPoolSize = producers };
    await using RabbitMqTransport consumerTransport = new(Options());
    await using RabbitMqTransport producerTransport = new(Options());
    await using Switchboard.IMessageBus consumer = MessageBus.Create(b => b
        .Configure(o => o.Name = "billing")
        .UseRabbitMq(consumerTransport)
        .RouteToTransport<BenchOrderCreated>("orders")
        .Handle<BenchOrderCreated>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                done.TrySetResult();
            }
        }));
    await using Switchboard.IMessageBus producer = MessageBus.Create(b => b
        .Configure(o => o.Name = "web")
        .UseRabbitMq(producerTransport)
        .RouteToTransport<BenchOrderCreated>("orders"));
    await Task.Delay(500); // the consumer's queue declared and bound

    Stopwatch clock = Stopwatch.StartNew();
    BenchOrderCreated message = new("ord-1", 1999);
    int next = 0;
    Task[] senders = new Task[producers];
    for (int p = 0; p < producers; p++)
    {
        senders[p] = Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                await producer.PublishAsync(message);
            }
        });
    }

    await Task.WhenAll(senders);
    await done.Task;
    // Handled is not enough: count until the last acknowledgement.
    while (consumer.GetStatistics().Transports["rabbitmq"].Acknowledged < count)
    {
        await Task.Delay(1);
    }

    double rate = count / clock.Elapsed.TotalSeconds;
    string[] consumerTransportQueues = ["orders.billing", "orders.billing.delay", "orders.billing.dlq"];
    await producer.DisposeAsync();
    await consumer.DisposeAsync();
    ConnectionFactory factory = new() { Uri = uri };
    await using IConnection connection = await factory.CreateConnectionAsync();
    await using IChannel cleanup = await connection.CreateChannelAsync();
    foreach (string queue in consumerTransportQueues)
    {
        await cleanup.QueueDeleteAsync(queue);
    }

    await cleanup.ExchangeDeleteAsync(exchange);
    return rate;
}

static double Median(List<double> values)
{
    double[] sorted = [.. values.Order()];
    return sorted[sorted.Length / 2];
}

namespace Switchboard.Benchmarks.RabbitMQ
{
    // MassTransit needs a namespace on message types.
    public sealed record BenchOrderCreated(string OrderId, long AmountCents);

    public sealed class WolverineOrderHandler
    {
        public void Handle(BenchOrderCreated message) => WolverineCounter.Hit();
    }

    public static class WolverineCounter
    {
        private static int _handled;
        private static int _count;

        public static TaskCompletionSource Done { get; private set; } = new();

        public static void Reset(int count)
        {
            _handled = 0;
            _count = count;
            Done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public static void Hit()
        {
            if (Interlocked.Increment(ref _handled) == _count)
            {
                Done.TrySetResult();
            }
        }
    }
}
