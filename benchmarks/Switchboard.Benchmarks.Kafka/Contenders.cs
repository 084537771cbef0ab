using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Kafka;
using Wolverine;
using Wolverine.Kafka;

namespace Switchboard.Benchmarks.Kafka;

// The three contenders, each timed the same way: its own topic (the broker's default partitions) and group, a first record
// sent and handled before the clock starts (the group has its partitions), then <count> records from <producers> tasks,
// each awaiting its send's delivery report, keys "ord-0".."ord-63"; the clock stops when the last one is handled.
// Producer settings for all three: acks=all, idempotent, linger 5 ms. Consumers: cooperative-sticky, session 6 s,
// earliest, fetch.wait.max.ms 10 (see FetchWaitMs), offsets stored as handled and committed by librdkafka's background
// commit every second.
public static class Contenders
{
    public const int Keys = 64;

    // fetch.wait.max.ms for all three consumers. librdkafka's mock broker holds a fetch that finds no new record for the
    // whole fetch.wait.max.ms (500 ms by default) and does not answer early when a record arrives meanwhile, as a broker does
    // (its Fetch handler says so). A consumer that has caught up then sees nothing for up to half a second: every round
    // ended with a random 0-500 ms idle tail (on rounds of about 4 s), and the faster a consumer, the more often it caught up
    // and waited. 10 ms keeps the mock close to a broker's behaviour; the same value goes to every contender (--fetch-wait-ms).
    public static int FetchWaitMs { get; set; } = 10;
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"orderId\":\"ord-1\",\"amountCents\":1999}");

    // Where a round's time went: until the last send returned, and until the last record was handled (the measuring process
    // prints it; the parent shows only the round lines).
    private static void Detail(string contender, TimeSpan sent, TimeSpan handled)
        => Console.WriteLine(FormattableString.Invariant($"detail {contender}: last send returned at {sent.TotalSeconds:0.00} s, last record handled at {handled.TotalSeconds:0.00} s"));

    private static string Key(int i) => "ord-" + (i % Keys).ToString(CultureInfo.InvariantCulture);

    // Raw Confluent.Kafka: ProduceAsync awaited per record; one consumer storing each offset as read (the "handler" is the
    // count), committed in the background every second.
    public static async Task<Cost> RawAsync(string bootstrap, string topic, int count, int producers)
    {
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
            FetchWaitMaxMs = FetchWaitMs,
        }).SetLogHandler(static (_, _) => { }).Build();
        // The first record creates the topic (the mock broker creates topics on first use) before the consumer subscribes.
        await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "warm", Value = Body });
        consumer.Subscribe(topic);
        ConsumeResult<string, byte[]>? first = null;
        while (first is null)
        {
            first = consumer.Consume(TimeSpan.FromMilliseconds(100));
        }

        consumer.StoreOffset(first);
        Cost.Meter meter = Cost.Start();
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
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        int next = 0;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = Key(i), Value = Body });
            }
        })));
        TimeSpan sent = clock.Elapsed;
        await consuming;
        Cost cost = meter.Stop(count, clock.Elapsed);
        Detail("raw", sent, clock.Elapsed);
        consumer.Close();
        return cost;
    }

    // Switchboard: PublishAsync (the transport awaits the delivery report) with PartitionBy on the same keys; another bus
    // handles with ConsumerConcurrency 8 and commits the contiguous handled watermark.
    public static async Task<Cost> SwitchboardAsync(string bootstrap, string prefix, int count, int producers)
    {
        int handled = -1; // the first record
        TaskCompletionSource warm = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using Switchboard.IMessageBus consumer = MessageBus.Create(b => b
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
        await using Switchboard.IMessageBus sender = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseKafka(Options(bootstrap, prefix))
            .PartitionBy<BenchOrder>(o => o.OrderId)
            .RouteToTransport<BenchOrder>("orders"));
        await sender.PublishAsync(new BenchOrder("warm", 1));
        await warm.Task.WaitAsync(TimeSpan.FromMinutes(2));
        Cost.Meter meter = Cost.Start();
        Stopwatch clock = Stopwatch.StartNew();
        int next = 0;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                await sender.PublishAsync(new BenchOrder(Key(i), 1999));
            }
        })));
        TimeSpan sent = clock.Elapsed;
        await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
        Cost cost = meter.Stop(count, clock.Elapsed);
        Detail("Switchboard", sent, clock.Elapsed);
        return cost;
    }

    private static KafkaTransportOptions Options(string bootstrap, string prefix) => new()
    {
        BootstrapServers = bootstrap,
        TopicPrefix = prefix,
        // The mock broker has no CreateTopics API (it creates topics on first use); against a cluster that allows it, leave it on.
        CreateTopics = false,
        SessionTimeout = TimeSpan.FromSeconds(6),
        HeartbeatInterval = TimeSpan.FromSeconds(2),
        Settings = { ["fetch.wait.max.ms"] = FetchWaitMs.ToString(CultureInfo.InvariantCulture) },
    };

    // WolverineFx.Kafka 6.62: PublishAsync to a Kafka topic endpoint sent inline (each call awaits the delivery report) with
    // the same key as Wolverine's partition key; a listener with Wolverine's defaults (buffered, offsets stored once handled
    // and flushed by librdkafka's background commit: CommitMode.StoreThenAutoFlush). No AutoProvision: the mock broker has
    // no CreateTopics API.
    public static async Task<Cost> WolverineAsync(string bootstrap, string topic, int count, int producers)
    {
        WolverineCounter.Reset(count + 1);
        using IHost host = await Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseWolverine(opts =>
            {
                opts.Discovery.DisableConventionalDiscovery().IncludeType<WolverineOrderHandler>();
                opts.UseKafka(bootstrap)
                    .ConfigureProducers(p =>
                    {
                        p.Acks = Acks.All;
                        p.EnableIdempotence = true;
                        p.LingerMs = 5;
                    })
                    .ConfigureConsumers(c =>
                    {
                        c.GroupId = topic + "-billing";
                        c.AutoOffsetReset = AutoOffsetReset.Earliest;
                        c.SessionTimeoutMs = 6000;
                        c.HeartbeatIntervalMs = 2000;
                        c.AutoCommitIntervalMs = 1000;
                        c.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
                        c.FetchWaitMaxMs = FetchWaitMs;
                    });
                opts.PublishMessage<BenchOrder>().ToKafkaTopic(topic).SendInline();
                opts.ListenToKafkaTopic(topic);
            })
            .StartAsync();
        Wolverine.IMessageBus bus = host.Services.GetRequiredService<Wolverine.IMessageBus>();
        try
        {
            await bus.PublishAsync(new BenchOrder("warm", 1), new DeliveryOptions { PartitionKey = "warm" });
            await WolverineCounter.First.Task.WaitAsync(TimeSpan.FromMinutes(2));
            Cost.Meter meter = Cost.Start();
            Stopwatch clock = Stopwatch.StartNew();
            int next = 0;
            await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) <= count)
                {
                    string key = Key(i);
                    await bus.PublishAsync(new BenchOrder(key, 1999), new DeliveryOptions { PartitionKey = key });
                }
            })));
            TimeSpan sent = clock.Elapsed;
            await WolverineCounter.Done.Task.WaitAsync(TimeSpan.FromMinutes(5));
            Cost cost = meter.Stop(count, clock.Elapsed);
            Detail("Wolverine", sent, clock.Elapsed);
            return cost;
        }
        finally
        {
            await host.StopAsync();
        }
    }
}


// What the Wolverine contender puts on the wire: its topic read back with a plain consumer (keys, partitions).
public static class WolverineCheck
{
    public static async Task RunAsync(string bootstrap, string topic)
    {
        using (IHost host = await Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseWolverine(opts =>
            {
                opts.Discovery.DisableConventionalDiscovery();
                opts.UseKafka(bootstrap).ConfigureProducers(p => { p.Acks = Acks.All; p.EnableIdempotence = true; });
                opts.PublishMessage<BenchOrder>().ToKafkaTopic(topic).SendInline();
            })
            .StartAsync())
        {
            Wolverine.IMessageBus bus = host.Services.GetRequiredService<Wolverine.IMessageBus>();
            foreach (string key in (string[])["ord-1", "ord-2", "ord-1"])
            {
                long start = Stopwatch.GetTimestamp();
                await bus.PublishAsync(new BenchOrder(key, 1), new DeliveryOptions { PartitionKey = key });
                Console.WriteLine($"published {key} in {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0.0} ms");
            }

            await host.StopAsync();
        }

        using IConsumer<string, byte[]> consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = topic + "-check",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).SetLogHandler(static (_, _) => { }).Build();
        consumer.Subscribe(topic);
        for (int read = 0; read < 3;)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(10)) is not { } record)
            {
                Console.WriteLine("nothing more in the topic");
                break;
            }

            read++;
            Console.WriteLine($"partition {record.Partition.Value} offset {record.Offset.Value} key {record.Message.Key ?? "(null)"}");
        }

        consumer.Close();
    }
}

public sealed record BenchOrder(string OrderId, long AmountCents);

public sealed class WolverineOrderHandler
{
    public static void Handle(BenchOrder message) => WolverineCounter.Hit();
}

public static class WolverineCounter
{
    private static int _handled;
    private static int _count;

    public static TaskCompletionSource First { get; private set; } = new();

    public static TaskCompletionSource Done { get; private set; } = new();

    public static void Reset(int count)
    {
        _handled = 0;
        _count = count;
        First = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static void Hit()
    {
        int n = Interlocked.Increment(ref _handled);
        if (n == 1)
        {
            First.TrySetResult();
        }

        if (n == _count)
        {
            Done.TrySetResult();
        }
    }
}
