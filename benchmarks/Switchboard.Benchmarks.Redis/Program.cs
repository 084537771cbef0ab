using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using Switchboard;
using Switchboard.Redis;
using Switchboard.Responses;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Redis -- [host:port] [messages] [requests]
// Measures, in one run against one Redis:
//   1. throughput: a raw StackExchange.Redis XADD + XREADGROUP + XACK loop, and Switchboard publish on one bus → handled
//      and acknowledged on another, same batch size, same number of messages, one producer awaiting each send;
//   2. request/response round trip over Redis: RedisResponseStore (woken by notification) and a store polled every
//      100 ms (the seed's design), side by side.
string connection = args.Length > 0 ? args[0] : "127.0.0.1:6379";
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
int requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 500;
const int batch = 64;
string run = "bench-" + Guid.NewGuid().ToString("N")[..8];

await using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(connection);
Console.WriteLine($"Redis {redis.GetServers()[0].Version} at {connection}; {messages} messages, batch {batch}, {requests} requests; {Environment.ProcessorCount} cores");

// Warm-up runs (JIT, connections), then the measured ones, alternating so that drift hits both alike.
await RawAsync(redis, $"{run}:warm", 2000, batch);
await BusAsync(connection, $"{run}-warm", 2000, batch);
List<double> raw = [], bus = [];
for (int i = 0; i < 3; i++)
{
    raw.Add(await RawAsync(redis, $"{run}:raw{i}", messages, batch));
    bus.Add(await BusAsync(connection, $"{run}-bus{i}", messages, batch));
}

double rawRate = Median(raw), busRate = Median(bus);
Console.WriteLine();
Console.WriteLine("| throughput (median of 3) | messages/s | ratio |");
Console.WriteLine("|---|---:|---:|");
Console.WriteLine($"| raw XADD + XREADGROUP + XACK | {rawRate:N0} | 100 % |");
Console.WriteLine($"| Switchboard publish → handle → ack | {busRate:N0} | {busRate / rawRate:P0} |");

(double p50, double p99) notified = await RoundTripAsync(connection, $"{run}-rr", requests, polled: false);
(double p50, double p99) polled = await RoundTripAsync(connection, $"{run}-poll", Math.Min(requests, 50), polled: true);
Console.WriteLine();
Console.WriteLine("| request/response over Redis | p50 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|");
Console.WriteLine($"| RedisResponseStore (notification) | {notified.p50:0.000} | {notified.p99:0.000} |");
Console.WriteLine($"| store polled every 100 ms | {polled.p50:0.000} | {polled.p99:0.000} |");

await DeleteAsync(redis, run);
return;

static async Task<double> RawAsync(ConnectionMultiplexer redis, string key, int count, int batch)
{
    IDatabase db = redis.GetDatabase();
    await db.StreamCreateConsumerGroupAsync(key, "g", StreamPosition.Beginning, createStream: true);
    byte[] body = "{\"orderId\":\"ord-1\",\"amountCents\":1999}"u8.ToArray();
    Stopwatch clock = Stopwatch.StartNew();
    Task consumer = Task.Run(async () =>
    {
        int done = 0;
        while (done < count)
        {
            StreamEntry[] entries = await db.StreamReadGroupAsync(key, "g", "c", StreamPosition.NewMessages, batch);
            if (entries.Length == 0)
            {
                await Task.Delay(1);
                continue;
            }

            await db.StreamAcknowledgeAsync(key, "g", Array.ConvertAll(entries, e => e.Id));
            done += entries.Length;
        }
    });
    for (int i = 0; i < count; i++)
    {
        await db.StreamAddAsync(key, [new NameValueEntry("h:ce-id", i), new NameValueEntry("h:ce-type", "OrderCreated"), new NameValueEntry("body", body)]);
    }

    await consumer;
    return count / clock.Elapsed.TotalSeconds;
}

static async Task<double> BusAsync(string connection, string prefix, int count, int batch)
{
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    RedisTransportOptions Options() => new() { ConnectionString = connection, StreamPrefix = prefix, BatchSize = batch };
    await using IMessageBus consumer = MessageBus.Create(b => b
        .Configure(o => o.Name = "billing")
        .UseRedis(Options())
        .RouteToTransport<BenchOrderCreated>("orders")
        .Handle<BenchOrderCreated>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                done.TrySetResult();
            }
        }));
    await using IMessageBus producer = MessageBus.Create(b => b
        .Configure(o => o.Name = "web")
        .UseRedis(Options())
        .RouteToTransport<BenchOrderCreated>("orders"));
    await Task.Delay(300); // the consumer's group and subscription in place

    Stopwatch clock = Stopwatch.StartNew();
    BenchOrderCreated message = new("ord-1", 1999);
    for (int i = 0; i < count; i++)
    {
        await producer.PublishAsync(message);
    }

    await done.Task;
    // Handled is not enough: count until the last acknowledgement.
    while (consumer.GetStatistics().Transports["redis"].Acknowledged < count)
    {
        await Task.Delay(1);
    }

    double rate = count / clock.Elapsed.TotalSeconds;
    await DeleteAsync(await ConnectionMultiplexer.ConnectAsync(connection), prefix);
    return rate;
}

static async Task<(double, double)> RoundTripAsync(string connection, string prefix, int count, bool polled)
{
    await using ConnectionMultiplexer workerConnection = await ConnectionMultiplexer.ConnectAsync(connection);
    await using ConnectionMultiplexer clientConnection = await ConnectionMultiplexer.ConnectAsync(connection);
    RedisTransportOptions options = new() { StreamPrefix = prefix, BlockTime = TimeSpan.FromMilliseconds(100) };
    await using RedisTransport workerTransport = new(workerConnection, options);
    await using RedisTransport clientTransport = new(clientConnection, options);
    IResponseStore workerStore = polled ? new PolledResponseStore(workerConnection, prefix) : new RedisResponseStore(workerConnection, prefix + ":response:");
    IResponseStore clientStore = polled ? new PolledResponseStore(clientConnection, prefix) : new RedisResponseStore(clientConnection, prefix + ":response:");
    await using IMessageBus worker = MessageBus.Create(b => b
        .Configure(o => o.Name = "pricing")
        .UseTransport(workerTransport).UseResponseStore(workerStore)
        .RouteToTransport<BenchQuote>("quotes")
        .Handle<BenchQuote, BenchQuoted>(q => new BenchQuoted(q.Sku, 1250)));
    await using IMessageBus client = MessageBus.Create(b => b
        .Configure(o => o.Name = "web")
        .UseTransport(clientTransport).UseResponseStore(clientStore)
        .RouteToTransport<BenchQuote>("quotes"));
    await Task.Delay(300);

    for (int i = 0; i < 20; i++)
    {
        await client.RequestAsync(new BenchQuote("warm"));
    }

    double[] times = new double[count];
    for (int i = 0; i < count; i++)
    {
        long start = Stopwatch.GetTimestamp();
        await client.RequestAsync(new BenchQuote("sku-1"));
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    Array.Sort(times);
    await DeleteAsync(workerConnection, prefix);
    return (times[count / 2], times[Math.Min(count - 1, (int)Math.Ceiling(count * 0.99) - 1)]);
}

static double Median(List<double> values)
{
    double[] sorted = [.. values.Order()];
    return sorted[sorted.Length / 2];
}

static async Task DeleteAsync(ConnectionMultiplexer redis, string prefix)
{
    IDatabase db = redis.GetDatabase();
    foreach (IServer server in redis.GetServers())
    {
        await foreach (RedisKey key in server.KeysAsync(pattern: prefix + "*"))
        {
            await db.KeyDeleteAsync(key);
        }
    }
}

public sealed record BenchOrderCreated(string OrderId, long AmountCents);
public sealed record BenchQuote(string Sku) : IRequest<BenchQuoted>;
public sealed record BenchQuoted(string Sku, long Cents);

/// <summary>The seed's design: the worker SETs the result; the waiter GETs it every 100 ms until it is there.</summary>
internal sealed class PolledResponseStore(ConnectionMultiplexer redis, string prefix) : IResponseStore
{
    public async ValueTask StoreAsync(string correlationId, StoredResponse response, TimeSpan timeToLive, CancellationToken cancellationToken = default)
        => await redis.GetDatabase().StringSetAsync($"{prefix}:polled:{correlationId}", response.Body.ToArray(), timeToLive);

    public async ValueTask<StoredResponse> WaitAsync(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            byte[]? body = await redis.GetDatabase().StringGetAsync($"{prefix}:polled:{correlationId}");
            if (body is not null)
            {
                return StoredResponse.Success(body, "application/json");
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"No response for '{correlationId}'.");
    }
}
