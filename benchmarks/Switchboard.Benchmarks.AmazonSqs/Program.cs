using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using StackExchange.Redis;
using Switchboard;
using Switchboard.AmazonSqs;
using Switchboard.Redis;
using Switchboard.Responses;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.AmazonSqs -- [sqs url] [messages] [requests] [redis host:port]
// Measures, in one run against one SQS endpoint (the emulator on loopback; dummy keys):
//   1. throughput: a raw AWSSDK.SQS loop (producers sending SendMessageBatch of 10, one consumer receiving 10 per long poll
//      and deleting them with DeleteMessageBatch) and Switchboard (the same number of concurrent producers publishing one
//      message each, coalesced into batches of 10 by the transport; handled and deleted on another bus), median of 3;
//   2. ExecuteAsync(Wait = true) round trip over SQS, results through the RedisResponseStore (in-memory store without Redis).
string url = args.Length > 0 ? args[0] : "http://127.0.0.1:9480";
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
int requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200;
string? redisAddress = args.Length > 3 ? args[3] : null;
const int producers = 32;
string run = "bench" + Guid.NewGuid().ToString("N")[..8] + "-";

using AmazonSQSClient client = new(new BasicAWSCredentials("bench", "bench"), new AmazonSQSConfig { ServiceURL = url, AuthenticationRegion = "us-east-1" });
Console.WriteLine($"SQS at {url}; {messages} messages, batches of 10, {producers} producers, {requests} requests; {Environment.ProcessorCount} cores");

await RawAsync(client, run + "warm", 1000);
await BusAsync(url, run + "warm", 1000);
List<double> raw = [], bus = [];
for (int i = 0; i < 3; i++)
{
    raw.Add(await RawAsync(client, $"{run}raw{i}", messages));
    bus.Add(await BusAsync(url, $"{run}bus{i}-", messages));
}

double rawRate = Median(raw), busRate = Median(bus);
Console.WriteLine();
Console.WriteLine("| throughput (median of 3) | messages/s | ratio |");
Console.WriteLine("|---|---:|---:|");
Console.WriteLine($"| raw SendMessageBatch + ReceiveMessage + DeleteMessageBatch | {rawRate:N0} | 100 % |");
Console.WriteLine($"| Switchboard publish → handle → delete | {busRate:N0} | {busRate / rawRate:P0} |");

(double p50, double p99) = await RoundTripAsync(url, run + "rr-", requests, redisAddress);
Console.WriteLine();
Console.WriteLine($"| ExecuteAsync(Wait = true) over SQS, {(redisAddress is null ? "in-memory" : "Redis")} response store | p50 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|");
Console.WriteLine($"| {requests} sequential requests | {p50:0.00} | {p99:0.00} |");

ListQueuesResponse left = await client.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = run, MaxResults = 1000 });
foreach (string queue in left.QueueUrls ?? [])
{
    await client.DeleteQueueAsync(queue);
}

return;

static async Task<double> RawAsync(AmazonSQSClient client, string name, int count)
{
    string queue = (await client.CreateQueueAsync(name)).QueueUrl;
    string body = "{\"orderId\":\"ord-1\",\"amountCents\":1999}";
    Stopwatch clock = Stopwatch.StartNew();
    Task consumer = Task.Run(async () =>
    {
        int done = 0;
        while (done < count)
        {
            ReceiveMessageResponse received = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
            List<Message> got = received.Messages ?? [];
            if (got.Count == 0)
            {
                continue;
            }

            await client.DeleteMessageBatchAsync(queue, [.. got.Select((m, i) => new DeleteMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), m.ReceiptHandle))]);
            done += got.Count;
        }
    });
    int next = 0;
    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
    {
        while (true)
        {
            int start = Interlocked.Add(ref next, 10) - 10;
            if (start >= count)
            {
                return;
            }

            int size = Math.Min(10, count - start);
            await client.SendMessageBatchAsync(queue, [.. Enumerable.Range(0, size).Select(i => new SendMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), body))]);
        }
    })));
    await consumer;
    return count / clock.Elapsed.TotalSeconds;
}

static async Task<double> BusAsync(string url, string prefix, int count)
{
    int handled = 0;
    TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    await using IMessageBus consumer = MessageBus.Create(b => b
        .Configure(o => { o.Name = "billing"; o.ConsumerConcurrency = 8; })
        .UseAmazonSqs(Options(url, prefix))
        .RouteToTransport<BenchOrder>("orders")
        .Handle<BenchOrder>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                all.TrySetResult();
            }
        }));
    await using IMessageBus sender = MessageBus.Create(b => b.Configure(o => o.Name = "web").UseAmazonSqs(Options(url, prefix)).RouteToTransport<BenchOrder>("orders"));
    await Task.Delay(1500); // the consumer creates its queue
    Stopwatch clock = Stopwatch.StartNew();
    int next = 0;
    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
    {
        while (Interlocked.Increment(ref next) <= count)
        {
            await sender.PublishAsync(new BenchOrder("ord-1", 1999));
        }
    })));
    await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
    return count / clock.Elapsed.TotalSeconds;
}

static async Task<(double P50, double P99)> RoundTripAsync(string url, string prefix, int count, string? redisAddress)
{
    ConnectionMultiplexer? redis = redisAddress is null ? null : await ConnectionMultiplexer.ConnectAsync(redisAddress);
    IResponseStore store = redis is null ? new InMemoryResponseStore() : new RedisResponseStore(redis, prefix + ":");
    await using IMessageBus worker = MessageBus.Create(b => b
        .Configure(o => o.Name = "worker")
        .UseAmazonSqs(Options(url, prefix))
        .UseResponseStore(store)
        .RouteToTransport<BenchQuote>("quotes")
        .Handle<BenchQuote, BenchQuoted>(q => new BenchQuoted(q.Sku, 1250)));
    await using IMessageBus web = MessageBus.Create(b => b.Configure(o => o.Name = "web").UseAmazonSqs(Options(url, prefix)).UseResponseStore(store).RouteToTransport<BenchQuote>("quotes"));
    await Task.Delay(1500);
    for (int i = 0; i < 20; i++)
    {
        await web.ExecuteAsync(new BenchQuote("warm"), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(30) });
    }

    double[] times = new double[count];
    for (int i = 0; i < count; i++)
    {
        long start = Stopwatch.GetTimestamp();
        await web.ExecuteAsync(new BenchQuote($"sku-{i}"), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(30) });
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    redis?.Dispose();
    Array.Sort(times);
    return (times[count / 2], times[Math.Min(count - 1, (int)(count * 0.99))]);
}

static SqsTransportOptions Options(string url, string prefix) => new()
{
    ServiceUrl = new Uri(url),
    AccessKeyId = "bench",
    SecretAccessKey = "bench",
    QueueNamePrefix = prefix,
    WaitTime = TimeSpan.FromSeconds(1),
};

static double Median(List<double> values)
{
    List<double> sorted = [.. values.Order()];
    return sorted[sorted.Count / 2];
}

public sealed record BenchOrder(string OrderId, long AmountCents);

public sealed record BenchQuote(string Sku) : IRequest<BenchQuoted>;

public sealed record BenchQuoted(string Sku, long PriceCents);
