// A program written the way a user writes one, against the packages (scripts/package-test.sh builds and runs it): if a
// package misses a dependency, a file or an analyzer, this fails to restore, to build or to run, and CI fails.
using System.Diagnostics;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard;
using Switchboard.Hosting;
using Switchboard.Outbox;
using Switchboard.Testing;

int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"package-consumer: {(ok ? "ok" : "FAILED")} {what}");
    failures += ok ? 0 : 1;
}

TimeSpan patience = TimeSpan.FromSeconds(20);

// 1. Every package with a library loads (the list comes from the feed, so a new package is checked without an edit here).
string assemblies = typeof(OrderPlaced).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .Single(a => a.Key == "SwitchboardAssemblies").Value ?? string.Empty;
foreach (string name in assemblies.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    try
    {
        Assembly assembly = Assembly.Load(name);
        Check(assembly.GetName().Version is not null, $"{name} {assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion} loads");
    }
    catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
    {
        Check(false, $"{name} loads: {ex.Message}");
    }
}

// 2. In process: an event, a request, and the test helper.
await using (IMessageBus bus = MessageBus.Create(b => b
    .Handle<OrderPlaced>(_ => { })
    .Handle<Quote, Price>(q => new Price(q.Sku, 990))))
{
    EventSynchronizer events = new(bus);
    await bus.PublishAsync(new OrderPlaced("o-1"));
    OrderPlaced seen = await events.WaitForEventAsync<OrderPlaced>(patience);
    Price price = await bus.RequestAsync(new Quote("sku-1"));
    Check(seen.Id == "o-1" && price.Cents == 990, "in-process publish, request and EventSynchronizer");
}

// 3. A host: the SQLite outbox and (where a Redis is given) the Redis transport with options from configuration, health
// checks for both, and OpenTelemetry collecting the spans and metrics.
string? redis = Environment.GetEnvironmentVariable("SWITCHBOARD_REDIS");
if (string.IsNullOrEmpty(redis) && Environment.GetEnvironmentVariable("CI") == "true")
{
    Check(false, "SWITCHBOARD_REDIS is set (CI runs the transport part too)");
}

string database = Path.Combine(Path.GetTempPath(), $"switchboard-package-consumer-{Guid.NewGuid():N}.db");
string prefix = $"sb-package-consumer-{Guid.NewGuid():N}";
List<Activity> spans = [];
List<Metric> metrics = [];
using (TracerProvider tracing = Sdk.CreateTracerProviderBuilder().AddSwitchboardInstrumentation().AddInMemoryExporter(spans).Build())
using (MeterProvider meters = Sdk.CreateMeterProviderBuilder().AddSwitchboardInstrumentation().AddInMemoryExporter(metrics).Build())
{
    TaskCompletionSource<OrderPlaced> placed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    TaskCompletionSource<OrderShipped> shipped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Outbox:ConnectionString"] = $"Data Source={database}",
        ["Redis:ConnectionString"] = redis,
        ["Redis:StreamPrefix"] = prefix,
    });
    ISwitchboardBuilder switchboard = builder.Services
        .AddSwitchboard(b =>
        {
            b.Configure(o => o.Name = "package-consumer");
            b.Handle<OrderPlaced>(e => placed.TrySetResult(e));
            if (!string.IsNullOrEmpty(redis))
            {
                b.RouteToTransport<OrderShipped>(prefix + "-shipped").Handle<OrderShipped>(e => shipped.TrySetResult(e));
            }
        })
        .UseSqliteOutbox(o => o.Bind(builder.Configuration.GetSection("Outbox")));
    if (!string.IsNullOrEmpty(redis))
    {
        switchboard.UseRedis(o => o.Bind(builder.Configuration.GetSection("Redis")));
    }

    builder.Services.AddHealthChecks().AddSwitchboard(tags: ["ready"]);
    using IHost host = builder.Build();
    await host.StartAsync();
    try
    {
        IOutbox outbox = host.Services.GetRequiredService<IOutbox>();
        await using (SqliteConnection connection = new($"Data Source={database}"))
        {
            await connection.OpenAsync();
            await using SqliteTransaction transaction = connection.BeginTransaction();
            await outbox.PublishAsync(transaction, new OrderPlaced("o-2"));
            await transaction.CommitAsync();
        }

        Check((await placed.Task.WaitAsync(patience)).Id == "o-2", "SQLite outbox from configuration dispatches a committed message");
        if (!string.IsNullOrEmpty(redis))
        {
            await host.Services.GetRequiredService<IMessageBus>().PublishAsync(new OrderShipped("o-2"));
            Check((await shipped.Task.WaitAsync(patience)).Id == "o-2", "Redis transport from configuration carries a message");
        }

        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        string[] expected = string.IsNullOrEmpty(redis) ? ["switchboard:outbox:sqlite"] : ["switchboard:outbox:sqlite", "switchboard:transport:redis"];
        Check(
            report.Status == HealthStatus.Healthy && expected.All(report.Entries.ContainsKey),
            $"health checks {string.Join(", ", report.Entries.Select(e => $"{e.Key}={e.Value.Status}"))}");
    }
    finally
    {
        await host.StopAsync();
    }

    meters.ForceFlush();
    tracing.ForceFlush();
    Check(spans.Exists(s => s.OperationName.StartsWith("dispatch ", StringComparison.Ordinal)), $"OpenTelemetry exported {spans.Count} spans, the outbox's dispatch among them");
    Check(metrics.Exists(m => m.Name == "messaging.process.duration"), $"OpenTelemetry exported {metrics.Count} metrics, messaging.process.duration among them");
}

if (!string.IsNullOrEmpty(redis))
{
    // Leave nothing behind on a shared Redis: the streams and keys under this run's prefix.
    await using StackExchange.Redis.ConnectionMultiplexer connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
    foreach (StackExchange.Redis.IServer server in connection.GetServers())
    {
        await foreach (StackExchange.Redis.RedisKey key in server.KeysAsync(pattern: prefix + "*"))
        {
            await connection.GetDatabase().KeyDeleteAsync(key);
        }
    }
}

SqliteConnection.ClearAllPools();
foreach (string file in new[] { database, database + "-wal", database + "-shm" })
{
    File.Delete(file);
}

Console.WriteLine(failures == 0 ? "package-consumer: all checks passed" : $"package-consumer: {failures} check(s) failed");
return failures == 0 ? 0 : 1;

public sealed record OrderPlaced(string Id);
public sealed record OrderShipped(string Id);
public sealed record Quote(string Sku) : IRequest<Price>;
public sealed record Price(string Sku, long Cents);
