using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Switchboard;
using Switchboard.Kafka;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Kafka -- [bootstrap servers] [messages] [producers]
// Measures end-to-end throughput in one run against one Kafka (median of 3, interleaved, after a warm-up of each):
//   1. raw Confluent.Kafka: <producers> tasks each awaiting ProduceAsync (acks=all, idempotent, linger 5 ms) with 64 keys;
//      one consumer (cooperative-sticky) storing each record's offset as it is read and committing every second;
//   2. Switchboard: the same producers awaiting PublishAsync (the transport awaits the delivery report) with the same keys
//      (PartitionBy), handled on another bus (ConsumerConcurrency 8) whose offsets are committed as handled.
// Each contender gets its own topic (the broker's default partitions) and group. The clock starts when a first record
// went round (the group has its partitions) and stops when the last record is handled.
// NOTE: against librdkafka's mock cluster (scripts/servers.sh start kafka) the broker lives in one process on loopback
// with no disk or replication: the numbers compare clients on the same machine, they are not broker numbers.
string bootstrap = args.Length > 0 ? args[0] : "127.0.0.1:9092";
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20000;
int producers = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
const int keys = 64;
string run = "bench-" + Guid.NewGuid().ToString("N")[..8] + ".";
Console.WriteLine($"Kafka at {bootstrap}; {messages} messages, {producers} producers, {keys} keys; {Environment.ProcessorCount} cores; load {Load()}");

await RawAsync(bootstrap, run + "warm-raw", Math.Min(2000, messages), producers);
await BusAsync(bootstrap, run + "warm-bus.", Math.Min(2000, messages), producers);
List<double> raw = [], bus = [];
for (int i = 0; i < 3; i++)
{
    raw.Add(await RawAsync(bootstrap, $"{run}raw{i}", messages, producers));
    bus.Add(await BusAsync(bootstrap, $"{run}bus{i}.", messages, producers));
}

double rawRate = Median(raw), busRate = Median(bus);
Console.WriteLine();
Console.WriteLine("| throughput (median of 3) | messages/s | vs raw | runs |");
Console.WriteLine("|---|---:|---:|---|");
Console.WriteLine($"| raw Confluent.Kafka ProduceAsync → Consume + StoreOffset + commit | {rawRate:N0} | 100 % | {Runs(raw)} |");
Console.WriteLine($"| Switchboard PublishAsync → handle → watermark commit | {busRate:N0} | {busRate / rawRate:P0} | {Runs(bus)} |");
Console.WriteLine($"target ≥ 70 % of raw: {(busRate / rawRate >= 0.7 ? "met" : "missed")} (load {Load()})");
return;

static async Task<double> RawAsync(string bootstrap, string topic, int count, int producers)
{
    byte[] body = Encoding.UTF8.GetBytes("{\"orderId\":\"ord-1\",\"amountCents\":1999}");
    using IProducer<string, byte[]> producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = bootstrap,
        Acks = Acks.All,
        EnableIdempotence = true,
        LingerMs = 5,
        Partitioner = Partitioner.Murmur2Random,
    }).SetLogHandler(static (_, _) => { }).Build();
    using IConsumer<string, byte[]> consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
    {
        BootstrapServers = bootstrap,
        GroupId = topic + "-billing",
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = true,
        EnableAutoOffsetStore = false,
        AutoCommitIntervalMs = 1000,
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 2000,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
    }).SetLogHandler(static (_, _) => { }).Build();
    consumer.Subscribe(topic);
    // The first record going round means the group has its partitions: the clock starts after it.
    await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "warm", Value = body });
    ConsumeResult<string, byte[]>? first = null;
    while (first is null)
    {
        first = consumer.Consume(TimeSpan.FromMilliseconds(100));
    }

    consumer.StoreOffset(first);
    Stopwatch clock = Stopwatch.StartNew();
    Task consuming = Task.Factory.StartNew(() =>
    {
        int done = 0;
        while (done < count)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                consumer.StoreOffset(record);
                done++;
            }
        }
    }, TaskCreationOptions.LongRunning);
    int next = 0;
    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) <= count)
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "ord-" + (i % keys).ToString(CultureInfo.InvariantCulture), Value = body });
        }
    })));
    await consuming;
    double rate = count / clock.Elapsed.TotalSeconds;
    consumer.Close();
    return rate;
}

static async Task<double> BusAsync(string bootstrap, string prefix, int count, int producers)
{
    int handled = -1; // the warm-up message
    TaskCompletionSource warm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    await using IMessageBus consumer = MessageBus.Create(b => b
        .Configure(o => { o.Name = "billing"; o.ConsumerConcurrency = 8; })
        .UseKafka(Options(bootstrap, prefix))
        .RouteToTransport<BenchOrder>("orders")
        .Handle<BenchOrder>(_ =>
        {
            int n = Interlocked.Increment(ref handled);
            if (n == 0)
            {
                warm.TrySetResult();
            }
            else if (n == count)
            {
                all.TrySetResult();
            }
        }));
    await using IMessageBus sender = MessageBus.Create(b => b
        .Configure(o => o.Name = "web")
        .UseKafka(Options(bootstrap, prefix))
        .PartitionBy<BenchOrder>(o => o.OrderId)
        .RouteToTransport<BenchOrder>("orders"));
    await sender.PublishAsync(new BenchOrder("warm", 1));
    await warm.Task.WaitAsync(TimeSpan.FromMinutes(2));
    Stopwatch clock = Stopwatch.StartNew();
    int next = 0;
    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) <= count)
        {
            await sender.PublishAsync(new BenchOrder("ord-" + (i % keys).ToString(CultureInfo.InvariantCulture), 1999));
        }
    })));
    await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
    return count / clock.Elapsed.TotalSeconds;
}

static KafkaTransportOptions Options(string bootstrap, string prefix) => new()
{
    BootstrapServers = bootstrap,
    TopicPrefix = prefix,
    // The mock broker has no CreateTopics API (it creates topics on first use); against a cluster that allows it, leave it on.
    CreateTopics = false,
    SessionTimeout = TimeSpan.FromSeconds(6),
    HeartbeatInterval = TimeSpan.FromSeconds(2),
};

static double Median(List<double> values)
{
    List<double> sorted = [.. values.Order()];
    return sorted[sorted.Count / 2];
}

static string Runs(List<double> values) => string.Join(", ", values.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)));

static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

public sealed record BenchOrder(string OrderId, long AmountCents);
