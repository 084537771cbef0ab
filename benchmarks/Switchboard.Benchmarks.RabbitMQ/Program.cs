using System.Diagnostics;
using System.Globalization;
using System.Text;
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
//        [--channels N] [--docs docs/benchmarks.md] [--sweep] [--check-wolverine]
// Measures end-to-end throughput in one run against one broker: publish with a confirm awaited per message, persistent,
// mandatory → delivered with the same prefetch → handled → acknowledged one by one. Contenders, interleaved, median of 3:
//   1. raw RabbitMQ.Client 7 by hand, the producers sharing one confirm channel (several publishes in flight, each producer
//      awaiting its own confirm) — the reference; 2. the same with a channel per producer (one confirm in flight on each);
//   3. Switchboard: publish on one bus (N shared confirm channels, default 1), handled and acknowledged on another;
//   4. MassTransit.RabbitMQ 8.5 (the last free line): Publish (publisher confirmation on, its default) → a receive endpoint;
//   5. WolverineFx.RabbitMQ: PublishAsync to a queue endpoint sent inline (awaited), publisher confirms with tracking and
//      persistent delivery turned on (off by default for an inline endpoint) → a listener processing inline.
// Same message size, prefetch and number of concurrent producers for all. --docs writes the table into the file's
// rabbitmq-harness block and the chart to benchmarks-rabbitmq.png beside it.
Uri uri = new(args.Length > 0 ? args[0] : "amqp://guest:guest@127.0.0.1:5672/");
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
int producers = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
const ushort prefetch = 64;
string run = "bench-" + Guid.NewGuid().ToString("N")[..8];
int channelsAt = Array.IndexOf(args, "--channels");
int busChannels = channelsAt >= 0 ? int.Parse(args[channelsAt + 1], CultureInfo.InvariantCulture) : 1;

Console.WriteLine($"RabbitMQ at {uri.Host}:{uri.Port}; {messages} messages, {producers} producers awaiting confirms, prefetch {prefetch}; {Environment.ProcessorCount} cores");

if (args.Contains("--sweep"))
{
    // Raw only: how the number of shared confirm channels changes throughput (0 = one per producer).
    foreach (int channels in new[] { 0, 1, 2, 4 })
    {
        List<double> sweep = [];
        for (int i = 0; i < 3; i++)
        {
            sweep.Add(await RawAsync(uri, $"{run}-sweep{channels}-{i}", messages, producers, prefetch, channels));
        }

        Console.WriteLine($"raw, channels {(channels == 0 ? "one per producer" : channels.ToString(CultureInfo.InvariantCulture))}: {Median(sweep):N0} messages/s ({string.Join(", ", sweep.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))})");
    }

    return;
}

if (args.Contains("--check-wolverine"))
{
    await CheckWolverineAsync(uri, $"{run}-check");
    return;
}

int rounds = 3;
(string Name, string Short, string Color, Func<string, int, Task<double>> Run)[] contenders =
[
    ("raw RabbitMQ.Client 7, one shared confirm channel: publish → consume → ack", "raw, shared channel", "#7f7f7f", (n, c) => RawAsync(uri, n, c, producers, prefetch, channels: 1)),
    ("raw RabbitMQ.Client 7, a channel per producer (one confirm in flight each)", "raw, channel per producer", "#bfbfbf", (n, c) => RawAsync(uri, n, c, producers, prefetch)),
    ("Switchboard publish → handle → ack", "Switchboard", "#1f77b4", (n, c) => BusAsync(uri, n, c, producers, prefetch, busChannels)),
    ("MassTransit.RabbitMQ 8.5 Publish → consume", "MassTransit 8.5", "#d62728", (n, c) => MassTransitAsync(uri, n, c, producers, prefetch)),
    ("WolverineFx.RabbitMQ 6.62 PublishAsync (inline, persistent) → handle (inline)", "Wolverine 6.62", "#2ca02c", (n, c) => WolverineAsync(uri, n, c, producers, prefetch)),
];
string loadBefore = Load();
foreach (var contender in contenders)
{
    await contender.Run($"{run}-warm-{contender.Short.Replace(' ', '-').Replace(",", "", StringComparison.Ordinal)}", 2000);
}

List<double>[] rates = [.. contenders.Select(_ => new List<double>())];
for (int i = 0; i < rounds; i++)
{
    for (int c = 0; c < contenders.Length; c++)
    {
        rates[c].Add(await contenders[c].Run($"{run}-{c}-{i}", messages));
    }
}

string loadAfter = Load();
double[] medians = [.. rates.Select(Median)];
double rawRate = medians[0], busRate = medians[2], mtRate = medians[3], wolverineRate = medians[4];
List<string> rows = [];
for (int c = 0; c < contenders.Length; c++)
{
    rows.Add($"| {contenders[c].Name} | {medians[c]:N0} | {medians[c] / rawRate:P0} | {string.Join(", ", rates[c].Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |");
}

List<string> verdicts =
[
    $"Switchboard / raw (shared channel): {busRate / rawRate:P0} (target ≥ 80 %: {(busRate / rawRate >= 0.8 ? "met" : "missed")})",
    $"Switchboard / MassTransit: {busRate / mtRate:0.00} × (target ≥ 2 ×: {(busRate / mtRate >= 2 ? "met" : "missed")})",
    $"Switchboard / Wolverine: {busRate / wolverineRate:0.00} × (target ≥ 1.2 ×: {(busRate / wolverineRate >= 1.2 ? "met" : "missed")})",
];
Console.WriteLine();
Console.WriteLine($"| throughput (median of {rounds}) | messages/s | vs raw (shared channel) | runs |");
Console.WriteLine("|---|---:|---:|---|");
rows.ForEach(Console.WriteLine);
verdicts.ForEach(Console.WriteLine);
Console.WriteLine($"load (1 min) before {loadBefore}, after {loadAfter}");
int docsAt = Array.IndexOf(args, "--docs");
if (docsAt >= 0 && docsAt + 1 < args.Length)
{
    string docs = args[docsAt + 1];
    string chart = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(docs))!, "benchmarks-rabbitmq.png");
    RabbitMqChart.Save(chart, [.. contenders.Select(c => c.Short)], [.. contenders.Select(c => c.Color)], medians, messages, producers, prefetch);
    WriteSection(docs, rows, verdicts, messages, producers, prefetch, busChannels, rounds, loadBefore, loadAfter);
    Console.WriteLine($"written to {docs} and {chart}");
}

return;

static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

// Replaces (or adds, after the outbox section or before "## Machine") the RabbitMQ section of docs/benchmarks.md; the
// in-process report keeps it when it is regenerated.
static void WriteSection(string path, List<string> rows, List<string> verdicts, int messages, int producers, ushort prefetch, int busChannels, int rounds, string loadBefore, string loadAfter)
{
    const string Begin = "<!-- rabbitmq-harness:begin -->", End = "<!-- rabbitmq-harness:end -->";
    StringBuilder section = new();
    section.AppendLine(Begin);
    section.AppendLine("### RabbitMQ");
    section.AppendLine();
    section.AppendLine($"Measured on {DateTime.UtcNow:yyyy-MM-dd} with `dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.RabbitMQ -- amqp://guest:guest@127.0.0.1:5679/ {messages} {producers} --docs docs/benchmarks.md`");
    section.AppendLine($"({Environment.ProcessorCount} cores shared with the broker, load {loadBefore} before and {loadAfter} after; RabbitMQ from `scripts/servers.sh start`, one node, classic durable queues).");
    section.AppendLine($"End-to-end throughput, median of {rounds} runs of {messages:N0} messages each, contenders interleaved: {producers} concurrent producers, each awaiting");
    section.AppendLine($"the publisher confirm of every persistent message it sends → delivered with prefetch {prefetch} → handled → acknowledged one by one.");
    section.AppendLine($"Switchboard shares {busChannels} confirm channel(s) among its senders (`PublishChannelPoolSize`), several publishes in flight on each, every");
    section.AppendLine("send completing on its own confirm; the first raw row does the same by hand and is the reference. MassTransit: `Publish` with");
    section.AppendLine("publisher confirmation (its default) → a receive endpoint. Wolverine: `PublishAsync` to a queue endpoint sent inline, confirms with");
    section.AppendLine("tracking turned on and delivery made persistent (both off by default for an inline endpoint) → a listener processing inline;");
    section.AppendLine("it publishes without `mandatory`, the others with it. Details and what bounds the numbers: [transports/rabbitmq.md](transports/rabbitmq.md#performance).");
    section.AppendLine();
    section.AppendLine($"| throughput (median of {rounds}) | messages/s | vs raw (shared channel) | runs |");
    section.AppendLine("|---|---:|---:|---|");
    foreach (string row in rows)
    {
        section.AppendLine(row);
    }

    section.AppendLine();
    foreach (string verdict in verdicts)
    {
        section.AppendLine($"- {verdict}");
    }

    section.AppendLine();
    section.AppendLine("![RabbitMQ end-to-end throughput](benchmarks-rabbitmq.png)");
    section.Append(End);
    string text = File.ReadAllText(path);
    int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
    if (begin >= 0 && end > begin)
    {
        text = text[..begin] + section + text[(end + End.Length)..];
    }
    else
    {
        const string OutboxEnd = "<!-- outbox-harness:end -->";
        int outbox = text.IndexOf(OutboxEnd, StringComparison.Ordinal);
        int machine = text.IndexOf("## Machine", StringComparison.Ordinal);
        text = outbox >= 0
            ? text[..(outbox + OutboxEnd.Length)] + Environment.NewLine + Environment.NewLine + section + text[(outbox + OutboxEnd.Length)..]
            : machine < 0 ? text + Environment.NewLine + section + Environment.NewLine : text[..machine] + section + Environment.NewLine + Environment.NewLine + text[machine..];
    }

    File.WriteAllText(path, text);
}

// The Wolverine contender's configuration: publisher confirms with tracking (off by default in Wolverine), persistent
// delivery, sent inline (each PublishAsync awaits its confirm), a listener processing inline (ack after the handler).
static void ConfigureWolverine(WolverineOptions opts, Uri uri, string name, ushort prefetch, bool listen)
{
    opts.Discovery.DisableConventionalDiscovery().IncludeType<WolverineOrderHandler>();
    opts.UseRabbitMq(uri).AutoProvision().ConfigureChannelCreation(o =>
    {
        o.PublisherConfirmationsEnabled = true;
        o.PublisherConfirmationTrackingEnabled = true;
    });
    // Wolverine marks a message persistent only on a durable endpoint (its sender sets Persistent = Mode == Durable), and
    // a durable endpoint sends through its outbox, not inline. Inline with persistent delivery: the mapping that writes
    // the content type also sets delivery mode 2. Mandatory stays off: Wolverine publishes with mandatory false.
    opts.PublishMessage<BenchOrderCreated>().ToRabbitQueue(name).SendInline().UseInterop((_, mapper) =>
        mapper.MapOutgoingProperty(e => e.ContentType!, (e, props) =>
        {
            props.ContentType = e.ContentType;
            props.Persistent = true;
        }));
    if (listen)
    {
        opts.ListenToRabbitQueue(name).PreFetchCount(prefetch).ProcessInline();
    }
}

static async Task<double> WolverineAsync(Uri uri, string name, int count, int producers, ushort prefetch)
{
    WolverineCounter.Reset(count);
    using IHost host = await Host.CreateDefaultBuilder()
        .ConfigureLogging(logging => logging.ClearProviders())
        .UseWolverine(opts => ConfigureWolverine(opts, uri, name, prefetch, listen: true))
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

// Publishes one message with the Wolverine configuration below and reads it back: is it persistent?
static async Task CheckWolverineAsync(Uri uri, string name)
{
    using (IHost host = await Host.CreateDefaultBuilder()
        .ConfigureLogging(logging => logging.ClearProviders())
        .UseWolverine(opts => ConfigureWolverine(opts, uri, name, prefetch: 1, listen: false))
        .StartAsync())
    {
        await host.Services.GetRequiredService<Wolverine.IMessageBus>().PublishAsync(new BenchOrderCreated("ord-1", 1999));
        await host.StopAsync();
    }

    ConnectionFactory factory = new() { Uri = uri };
    await using IConnection connection = await factory.CreateConnectionAsync();
    await using IChannel channel = await connection.CreateChannelAsync();
    BasicGetResult? result = await channel.BasicGetAsync(name, autoAck: true);
    Console.WriteLine(result is null ? "Wolverine: nothing in the queue" : $"Wolverine: delivery mode {(int)result.BasicProperties.DeliveryMode} (2 = persistent), persistent {result.BasicProperties.Persistent}");
    await channel.QueueDeleteAsync(name);
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

static async Task<double> RawAsync(Uri uri, string name, int count, int producers, ushort prefetch, int channels = 0)
{
    // channels 0: one channel per producer, one confirm outstanding on each; otherwise the producers share that many
    // channels, several publishes in flight on each, every producer still awaiting its own confirm.
    int channelCount = channels == 0 ? producers : channels;
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
    IChannel[] publishChannels = new IChannel[channelCount];
    for (int c = 0; c < channelCount; c++)
    {
        publishChannels[c] = await producerConnection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
    }

    for (int p = 0; p < producers; p++)
    {
        IChannel channel = publishChannels[p % channelCount];
        senders[p] = Task.Run(async () =>
        {
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
    foreach (IChannel channel in publishChannels)
    {
        await channel.DisposeAsync();
    }

    await setup.QueueDeleteAsync(name + ".q");
    await setup.ExchangeDeleteAsync(name);
    return rate;
}

static async Task<double> BusAsync(Uri uri, string exchange, int count, int producers, ushort prefetch, int busChannels = 1)
{
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Switchboard.RabbitMQ.RabbitMqTransportOptions Options() => new() { Uri = uri, ExchangeName = exchange, Prefetch = prefetch, PublishChannelPoolSize = busChannels };
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
