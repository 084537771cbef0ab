using System.Diagnostics;
using AotOrders;
using Microsoft.Data.Sqlite;
using Switchboard;
using Switchboard.Outbox;
using Switchboard.Redis;

// The orders scenario as one native executable (Native AOT): handlers registered by the generated AddGeneratedHandlers(),
// messages serialized through the source-generated OrdersJson, the outbox in SQLite, and Redis Streams when an address is
// given. Every step checks its result; the exit code is 0 only when all held (scripts/aot-sample.sh runs it as a test).
//
//   dotnet publish samples/Switchboard.Samples.Aot -c Release -o out/aot && out/aot/Switchboard.Samples.Aot [--redis 127.0.0.1:6379]
//   dotnet run --project samples/Switchboard.Samples.Aot -c Release     (the same program on the JIT, for comparison)

TimeSpan sinceStart = DateTime.Now - Process.GetCurrentProcess().StartTime;
Stopwatch clock = Stopwatch.StartNew();
bool onJit = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet";
Console.WriteLine($"Switchboard AOT sample: {(onJit ? "JIT (dotnet host)" : "Native AOT executable")}, .NET {Environment.Version}");

string database = Path.Combine(Path.GetTempPath(), $"switchboard-aot-{Environment.ProcessId}.db");
string connectionString = $"Data Source={database}";
int failures = 0;

try
{
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = "aot-orders")
        .AddGeneratedHandlers()
        .UseSqliteOutbox(connectionString)
        .Handle<OrderCreated>(e => OrderBook.Log.Enqueue($"stock:{e.OrderId}")));
    TimeSpan ready = sinceStart + clock.Elapsed;
    Console.WriteLine($"bus ready {ready.TotalMilliseconds:0} ms after the process started");

    await bus.PublishAsync(new OrderCreated("ord-1", "alice", 1999));
    Check(OrderBook.Log.Contains("email:ord-1") && OrderBook.Log.Contains("stock:ord-1"), "PublishAsync reached the generated class handler and the delegate");

    await bus.SendAsync(new ShipOrder("ord-1"));
    OrderStatus status = await bus.RequestAsync(new GetOrderStatus("ord-1"));
    Check(status == new OrderStatus("ord-1", "shipped"), $"SendAsync then RequestAsync: {status}");

    object? receipt = await bus.ExecuteAsync(new ChargePayment("ord-1", 1999), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(10) });
    Check(receipt is PaymentReceipt { ReceiptId: "rcpt-ord-1" }, $"ExecuteAsync through the queue, serialized with OrdersJson: {receipt}");

    OrderPlaced placed = await bus.RequestAsync(new PlaceOrder("ord-3", "bob", 4200));
    Check(placed.Status == "placed" && await Eventually(() => OrderBook.Log.Contains("email:ord-3")), "a cascaded event went through the SQLite outbox and was delivered");

    IOutbox outbox = bus.GetOutbox();
    await using (SqliteConnection db = new(connectionString))
    {
        await db.OpenAsync();
        await using SqliteTransaction transaction = db.BeginTransaction();
        await outbox.PublishAsync(transaction, new OrderCreated("ord-7", "frank", 1250));
        await transaction.CommitAsync();
    }

    Check(await Eventually(() => OrderBook.Log.Contains("email:ord-7")), "IOutbox.PublishAsync in the application's transaction was delivered after the commit");

    TaskCompletionSource<ParcelPicked> picked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    using (bus.Subscribe("warehouse/*/picked", m => picked.TrySetResult(m.As<ParcelPicked>())))
    {
        await bus.PublishAsync("warehouse/berlin/picked", new ParcelPicked("ord-1", 3));
    }

    Check((await picked.Task.WaitAsync(TimeSpan.FromSeconds(5))).Items == 3, "a topic payload converted with TopicMessage.As<T>()");

    int redisAt = Array.IndexOf(args, "--redis");
    if (redisAt >= 0 && redisAt + 1 < args.Length)
    {
        await OverRedisAsync(args[redisAt + 1]);
    }

    BusStatistics stats = bus.GetStatistics();
    Console.WriteLine($"statistics: events {stats.EventsPublished}, handlers {stats.HandlersInvoked}, errors {stats.HandlerErrors}");
}
finally
{
    foreach (string file in new[] { database, database + "-wal", database + "-shm" })
    {
        File.Delete(file);
    }
}

using (Process self = Process.GetCurrentProcess())
{
    Console.WriteLine($"done in {(sinceStart + clock.Elapsed).TotalMilliseconds:0} ms since the process started; peak working set {self.PeakWorkingSet64 / (1024.0 * 1024.0):0.0} MiB");
}

Console.WriteLine(failures == 0 ? "aot sample: all checks passed" : $"aot sample: {failures} check(s) failed");
return failures == 0 ? 0 : 1;

// A worker bus and a front bus in this process, over Redis Streams (a prefix of their own, so runs never meet).
async Task OverRedisAsync(string connection)
{
    RedisTransportOptions options = new() { ConnectionString = connection, StreamPrefix = $"aot-sample-{Guid.NewGuid():N}" };
    await using IMessageBus worker = MessageBus.Create(b => b
        .Configure(o => o.Name = "aot-payments")
        .AddGeneratedHandlers()
        .UseRedis(options)
        .RouteToTransport<OrderCreated>()
        .RouteToTransport<ChargePayment>());
    await using IMessageBus front = MessageBus.Create(b => b
        .Configure(o => o.Name = "aot-web")
        .UseJsonTypeInfoResolver(OrdersJson.Default)
        .UseRedis(options)
        .RouteToTransport<OrderCreated>()
        .RouteToTransport<ChargePayment>());

    await front.PublishAsync(new OrderCreated("ord-r1", "carol", 700));
    PaymentReceipt receipt = await front.RequestAsync(new ChargePayment("ord-r1", 700), new RequestOptions { Timeout = TimeSpan.FromSeconds(30) });
    Check(receipt.ReceiptId == "rcpt-ord-r1", $"RequestAsync over Redis, answered by the worker bus: {receipt}");
    Check(await Eventually(() => OrderBook.Log.Contains("email:ord-r1")), "PublishAsync over Redis reached the worker's handler");
}

void Check(bool condition, string what)
{
    Console.WriteLine($"{(condition ? "ok  " : "FAIL")} {what}");
    if (!condition)
    {
        failures++;
    }
}

static async Task<bool> Eventually(Func<bool> condition)
{
    Stopwatch waited = Stopwatch.StartNew();
    while (!condition())
    {
        if (waited.Elapsed > TimeSpan.FromSeconds(10))
        {
            return false;
        }

        await Task.Delay(10);
    }

    return true;
}
