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
//        [--processes N] [--docs docs/benchmarks.md]; profiling one contender: [sqs url] [messages] 0 --child --only raw|bus
// Measures, against one SQS endpoint (the emulator on loopback; dummy keys):
//   1. throughput, in N fresh processes one after the other (default 3; each warms up with 2 full-size rounds of each, then runs 3 interleaved rounds of
//      both contenders and reports their medians): a raw AWSSDK.SQS loop (producers sending SendMessageBatch of 10, one
//      consumer receiving 10 per long poll and deleting them with DeleteMessageBatch) and Switchboard (the same number of
//      concurrent producers publishing one message each, coalesced into batches of 10 by the transport; handled and
//      deleted on another bus). The ratio is Switchboard's rate over the raw loop's in the same process; the verdict is
//      the median of the processes' ratios;
//   2. ExecuteAsync(Wait = true) round trip over SQS, results through the RedisResponseStore (in-memory store without Redis).
// --docs writes the result into the sqs-harness block of that file.
List<string> positional = [];
int processes = 3;
string? docs = null;
bool child = false;
bool count = false;
bool rawAttributes = false;
bool rawPacked = false;
bool rawInBody = false;
string? only = null;
bool alloc = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--processes": processes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--docs": docs = args[++i]; break;
        case "--child": child = true; break;
        case "--count": count = true; break;
        case "--raw-attributes": rawAttributes = true; break; // with --count: the raw loop's messages carry an envelope's 7 attributes
        case "--raw-packed": rawPacked = true; break; // with --only raw: the raw loop's messages carry one sb-headers attribute as Switchboard's do
        case "--raw-in-body": rawInBody = true; break; // with --only raw: the same headers inside the body instead (CloudEvents' structured JSON), no attribute
        case "--alloc": alloc = true; break; // with --only: sampled allocations by type over the measured rounds
        case "--only": only = args[++i]; break; // with --child: run only "raw" or "bus" (for a profiler), print its rounds
        default: positional.Add(args[i]); break;
    }
}

string url = positional.Count > 0 ? positional[0] : "http://127.0.0.1:9480";
int messages = positional.Count > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 5000;
int requests = positional.Count > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 200;
string? redisAddress = positional.Count > 3 ? positional[3] : null;
const int producers = 32;
string run = "bench" + Guid.NewGuid().ToString("N")[..8] + "-";

using AmazonSQSClient client = new(new BasicAWSCredentials("bench", "bench"), new AmazonSQSConfig { ServiceURL = url, AuthenticationRegion = "us-east-1" });
if (count)
{
    // Where the calls go: one warm-up of each, then one counted round of each (no ratio claimed from this mode).
    CpuMeter countMeter = new(new Uri(url).Port);
    await RawAsync(client, run + "warm", 1000, countMeter);
    await BusAsync(url, run + "warm", 1000, countMeter);
    CallCounter rawCalls = new(), busCalls = new();
    using AmazonSQSClient counted = new(new BasicAWSCredentials("bench", "bench"), new AmazonSQSConfig { ServiceURL = url, AuthenticationRegion = "us-east-1" });
    rawCalls.Attach(counted);
    Round rawRound = await RawAsync(counted, run + "rawc", messages, countMeter, rawAttributes);
    Round busRound = await BusAsync(url, run + "busc-", messages, countMeter, busCalls);
    Console.WriteLine(FormattableString.Invariant($"raw {rawRound.Rate:N0}/s (CPU per message: client {rawRound.ClientUs:0} µs, emulator {rawRound.EmulatorUs:0} µs), Switchboard {busRound.Rate:N0}/s (client {busRound.ClientUs:0} µs, emulator {busRound.EmulatorUs:0} µs)"));
    Console.WriteLine(rawCalls.Report("raw", messages));
    Console.WriteLine(busCalls.Report("Switchboard (sender and consumer)", messages));
    await DeleteQueuesAsync(client, run);
    return 0;
}

if (child && only is not null)
{
    // One contender alone, e.g. under `perf record`: 2 warm-ups, then 5 rounds, each printed (no ratio claimed).
    CpuMeter meter = new(new Uri(url).Port);
    bool alone = only == "raw";
    using AllocationSampler? sampler = alloc ? new AllocationSampler() : null;
    for (int i = 0; i < 7; i++)
    {
        if (i == 2)
        {
            sampler?.Reset();
        }

        // Also what the process allocated, its collections and its threads' context switches per message (the round's setup included).
        long allocated = GC.GetTotalAllocatedBytes(), collections = GC.CollectionCount(0), switches = CpuMeter.ContextSwitches(), items = ThreadPool.CompletedWorkItemCount;
        Round round = alone ? await RawAsync(client, $"{run}only{i}", messages, meter, packed: rawPacked, inBody: rawInBody) : await BusAsync(url, $"{run}only{i}-", messages, meter);
        Console.WriteLine(FormattableString.Invariant(
            $"{(i < 2 ? "warm-up" : "round")} {only}: {round.Rate:N0}/s, CPU µs/message client {round.ClientUs:0}, emulator {round.EmulatorUs:0}; per message {(GC.GetTotalAllocatedBytes() - allocated) / (double)messages:N0} B allocated, {(CpuMeter.ContextSwitches() - switches) / (double)messages:0.00} context switches, {(ThreadPool.CompletedWorkItemCount - items) / (double)messages:0.00} thread-pool work items; {GC.CollectionCount(0) - collections} gen0 GCs"));
    }

    foreach (string line in sampler?.Top(40, 5 * messages) ?? [])
    {
        Console.WriteLine(line);
    }

    await DeleteQueuesAsync(client, run);
    return 0;
}

if (child)
{
    // One process's measurement: warm up, 3 interleaved rounds, medians on the last line for the parent.
    CpuMeter meter = new(new Uri(url).Port);
    // Two full-size warm-up rounds of each: on a loaded 2-core machine the JIT's tiering of the bus's larger code path
    // (background compilation, CPU taken from the emulator) went on into the measured rounds after a 1,000-message warm-up.
    for (int w = 0; w < 2; w++)
    {
        await RawAsync(client, $"{run}warm{w}", messages, meter);
        await BusAsync(url, $"{run}warm{w}-", messages, meter);
    }
    List<Round> raw = [], bus = [];
    for (int i = 0; i < 3; i++)
    {
        raw.Add(await RawAsync(client, $"{run}raw{i}", messages, meter));
        bus.Add(await BusAsync(url, $"{run}bus{i}-", messages, meter));
    }

    await DeleteQueuesAsync(client, run);
    Console.WriteLine(FormattableString.Invariant(
        $"RESULT {Median([.. raw.Select(r => r.Rate)]):0.0} {Median([.. bus.Select(r => r.Rate)]):0.0} {Median([.. raw.Select(r => r.ClientUs)]):0.0} {Median([.. bus.Select(r => r.ClientUs)]):0.0} {Median([.. raw.Select(r => r.EmulatorUs)]):0.0} {Median([.. bus.Select(r => r.EmulatorUs)]):0.0}"));
    return 0;
}

Console.WriteLine($"SQS at {url}; {messages} messages, batches of 10, {producers} producers, {processes} processes, {requests} requests; {Environment.ProcessorCount} cores");
string loadBefore = Load();
List<Measured> measured = [];
for (int p = 1; p <= processes; p++)
{
    Measured m = await MeasureInChildAsync(url, messages);
    measured.Add(m);
    Console.WriteLine(FormattableString.Invariant($"process {p}: raw {m.Raw:N0}/s, Switchboard {m.Bus:N0}/s, ratio {m.Bus / m.Raw:P0}; CPU µs/message client {m.RawClientUs:0} vs {m.BusClientUs:0}, emulator {m.RawEmulatorUs:0} vs {m.BusEmulatorUs:0}"));
}

double ratio = Median([.. measured.Select(m => m.Bus / m.Raw)]);
double lowest = measured.Min(m => m.Bus / m.Raw), highest = measured.Max(m => m.Bus / m.Raw);
bool met = lowest >= 0.70;
(double p50, double p99) = await RoundTripAsync(url, run + "rr-", requests, redisAddress);
string loadAfter = Load();
await DeleteQueuesAsync(client, run);

List<string> lines =
[
    $"| process | raw SendMessageBatch + ReceiveMessage + DeleteMessageBatch (median of 3) | Switchboard publish → handle → delete (median of 3) | ratio | ≥ 70 % | CPU µs per message, client: raw / Switchboard | emulator: raw / Switchboard |",
    "|---:|---:|---:|---:|:---:|---:|---:|",
    .. measured.Select((m, i) => FormattableString.Invariant($"| {i + 1} | {m.Raw:N0}/s | {m.Bus:N0}/s | {m.Bus / m.Raw:P0} | {(m.Bus / m.Raw >= 0.70 ? "met" : "not met")} | {m.RawClientUs:0} / {m.BusClientUs:0} | {m.RawEmulatorUs:0} / {m.BusEmulatorUs:0} |")),
    FormattableString.Invariant($"| **median of the {processes} ratios** | | | **{ratio:P0}** (spread {lowest:P0}–{highest:P0}) | **{(met ? "met in every process" : "not met")}** | | |"),
    "",
    $"| ExecuteAsync(Wait = true) over SQS, {(redisAddress is null ? "in-memory" : "Redis")} response store | p50 ms | p99 ms |",
    "|---|---:|---:|",
    FormattableString.Invariant($"| {requests} sequential requests | {p50:0.00} | {p99:0.00} |"),
];
Console.WriteLine();
lines.ForEach(Console.WriteLine);
Console.WriteLine($"load (1 min) before {loadBefore}, after {loadAfter}");
if (docs is not null)
{
    HarnessDocs.WriteSection(docs, lines, string.Join(' ', positional.Append("--processes").Append(processes.ToString(CultureInfo.InvariantCulture))), loadBefore, loadAfter);
    Console.WriteLine($"written to {docs}");
}

return 0;

// Runs this program again with --child: each measurement in a fresh process (its own JIT, thread pool and SDK clients).
static async Task<Measured> MeasureInChildAsync(string url, int messages)
{
    string self = Environment.ProcessPath!;
    ProcessStartInfo start = new(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        start.ArgumentList.Add(typeof(BenchOrder).Assembly.Location);
    }

    foreach (string arg in (string[])[url, messages.ToString(CultureInfo.InvariantCulture), "0", "--child"])
    {
        start.ArgumentList.Add(arg);
    }

    using Process process = Process.Start(start)!;
    string output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    string? result = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
    if (process.ExitCode != 0 || result is null)
    {
        throw new InvalidOperationException($"the measuring process failed (exit code {process.ExitCode}): {output}");
    }

    double[] parts = [.. result.Split(' ').Skip(1).Select(p => double.Parse(p, CultureInfo.InvariantCulture))];
    return new Measured(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]);
}

static async Task DeleteQueuesAsync(AmazonSQSClient client, string prefix)
{
    ListQueuesResponse left = await client.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = prefix, MaxResults = 1000 });
    foreach (string queue in left.QueueUrls ?? [])
    {
        await client.DeleteQueueAsync(queue);
    }
}

static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

static async Task<Round> RawAsync(AmazonSQSClient client, string name, int count, CpuMeter meter, bool attributes = false, bool packed = false, bool inBody = false)
{
    // Diagnostic only (--count --raw-attributes): string attributes like the CloudEvents headers Switchboard sends.
    Dictionary<string, MessageAttributeValue>? envelope = !attributes ? null : new()
    {
        ["ce-specversion"] = new() { DataType = "String", StringValue = "1.0" },
        ["ce-id"] = new() { DataType = "String", StringValue = "0193a5b2c3d4e5f60718293a4b5c6d7e" },
        ["ce-type"] = new() { DataType = "String", StringValue = "BenchOrder" },
        ["ce-source"] = new() { DataType = "String", StringValue = "/web" },
        ["ce-time"] = new() { DataType = "String", StringValue = "2026-12-07T05:00:00.0000000+00:00" },
        ["content-type"] = new() { DataType = "String", StringValue = "application/json" },
        ["ce-correlationid"] = new() { DataType = "String", StringValue = "0193a5b2c3d4e5f60718293a4b5c6d7e" },
    };
    if (packed)
    {
        // Diagnostic only (--only raw --raw-packed): the one attribute a Switchboard message carries, as large as its JSON.
        envelope = new()
        {
            ["sb-headers"] = new()
            {
                DataType = "String",
                StringValue = "{\"ce-specversion\":\"1.0\",\"ce-id\":\"0193a5b2c3d4e5f60718293a4b5c6d7e\",\"ce-type\":\"BenchOrder\",\"ce-source\":\"/web\",\"ce-time\":\"2026-12-07T05:00:00.0000000\\u002B00:00\",\"content-type\":\"application/json\",\"ce-correlationid\":\"0193a5b2c3d4e5f60718293a4b5c6d7e\"}",
            },
        };
    }

    string queue = (await client.CreateQueueAsync(name)).QueueUrl;
    string body = !inBody
        ? "{\"orderId\":\"ord-1\",\"amountCents\":1999}"
        : "{\"specversion\":\"1.0\",\"id\":\"0193a5b2c3d4e5f60718293a4b5c6d7e\",\"type\":\"BenchOrder\",\"source\":\"/web\",\"time\":\"2026-12-07T05:00:00.0000000+00:00\",\"datacontenttype\":\"application/json\",\"correlationid\":\"0193a5b2c3d4e5f60718293a4b5c6d7e\",\"data\":{\"orderId\":\"ord-1\",\"amountCents\":1999}}";
    (TimeSpan client0, TimeSpan emulator0) = meter.Now();
    Stopwatch clock = Stopwatch.StartNew();
    Task consumer = Task.Run(async () =>
    {
        int done = 0;
        while (done < count)
        {
            ReceiveMessageResponse received = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = envelope is null ? null : ["All"] });
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
            await client.SendMessageBatchAsync(queue, [.. Enumerable.Range(0, size).Select(i => new SendMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), body) { MessageAttributes = envelope })]);
        }
    })));
    await consumer;
    return Round.Of(count, clock.Elapsed, client0, emulator0, meter);
}

static async Task<Round> BusAsync(string url, string prefix, int count, CpuMeter meter, CallCounter? counter = null)
{
    int handled = 0;
    TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    await using IMessageBus consumer = MessageBus.Create(b => b
        .Configure(o => { o.Name = "billing"; o.ConsumerConcurrency = 8; })
        .UseAmazonSqs(Transport(url, prefix, counter))
        .RouteToTransport<BenchOrder>("orders")
        .Handle<BenchOrder>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                all.TrySetResult();
            }
        }));
    await using IMessageBus sender = MessageBus.Create(b => b.Configure(o => o.Name = "web").UseAmazonSqs(Transport(url, prefix, counter)).RouteToTransport<BenchOrder>("orders"));
    await Task.Delay(1500); // the consumer creates its queue
    (TimeSpan client0, TimeSpan emulator0) = meter.Now();
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
    return Round.Of(count, clock.Elapsed, client0, emulator0, meter);
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

// The transport with its own client (as in production), or, when counting, with a client whose calls are counted.
static SqsTransport Transport(string url, string prefix, CallCounter? counter)
{
    if (counter is null)
    {
        return new SqsTransport(Options(url, prefix));
    }

    AmazonSQSClient client = new(new BasicAWSCredentials("bench", "bench"), new AmazonSQSConfig { ServiceURL = url, AuthenticationRegion = "us-east-1", MaxErrorRetry = 2 });
    counter.Attach(client);
    return new SqsTransport(client, Options(url, prefix));
}

static double Median(List<double> values)
{
    List<double> sorted = [.. values.Order()];
    return sorted[sorted.Count / 2];
}

/// <summary>One timed round: messages per second, and CPU per message of this process and of the emulator over the same window.</summary>
public sealed record Round(double Rate, double ClientUs, double EmulatorUs)
{
    public static Round Of(int count, TimeSpan elapsed, TimeSpan client0, TimeSpan emulator0, CpuMeter meter)
    {
        (TimeSpan client, TimeSpan emulator) = meter.Now();
        return new Round(count / elapsed.TotalSeconds, (client - client0).TotalMicroseconds / count, (emulator - emulator0).TotalMicroseconds / count);
    }
}

/// <summary>One process's medians.</summary>
public sealed record Measured(double Raw, double Bus, double RawClientUs, double BusClientUs, double RawEmulatorUs, double BusEmulatorUs);

public sealed record BenchOrder(string OrderId, long AmountCents);

public sealed record BenchQuote(string Sku) : IRequest<BenchQuoted>;

public sealed record BenchQuoted(string Sku, long PriceCents);
