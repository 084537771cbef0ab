using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Data.Sqlite;
using Npgsql;
using Switchboard;
using Switchboard.Benchmarks.EventSourcing;
using Switchboard.EventSourcing;
using Switchboard.EventSourcing.Postgres;
using Switchboard.EventSourcing.Sqlite;
using Switchboard.Postgres;

// dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.EventSourcing -- <sqlite|postgres|both> [saves] [latency samples]
//     append + publish through the outbox: saves of one event each by 4 concurrent writers, until every event reached its
//     handler (throughput), then one save at a time, from SaveAsync's return (the commit) to the handler (latency).
//     PostgreSQL: SWITCHBOARD_POSTGRES, a schema of its own, dropped afterwards.
// dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.EventSourcing -- load
//     BenchmarkDotNet: LoadAsync of an aggregate with 1,000 events (SQLite and in memory).
if (args is ["load", ..])
{
    // In process: a benchmark project built per run does not finish within BenchmarkDotNet's build timeout on a busy machine.
    BenchmarkRunner.Run<LoadBenchmark>(
        DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance)),
        args[1..]);
    return 0;
}

string which = args.Length > 0 ? args[0] : "both";
int saves = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5_000;
int samples = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 300;
Console.WriteLine($"| store | append + publish (saves/s, 1 event each, 4 writers) | commit → handler p50 | p99 |");
Console.WriteLine("|---|---:|---:|---:|");
if (which is "sqlite" or "both")
{
    string file = Path.Combine(Path.GetTempPath(), $"sb-es-bench-{Environment.ProcessId}.db");
    string connectionString = $"Data Source={file}";
    await RunAsync("sqlite", new SqliteEventStore(connectionString, Counter.Types()), b => b.UseSqliteOutbox(connectionString), saves, samples);
    SqliteConnection.ClearAllPools();
    foreach (string f in new[] { file, file + "-wal", file + "-shm" })
    {
        File.Delete(f);
    }
}

if (which is "postgres" or "both")
{
    string server = Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES") ?? throw new InvalidOperationException("set SWITCHBOARD_POSTGRES");
    string schema = "sbesbench_" + Guid.NewGuid().ToString("N")[..8];
    try
    {
        await RunAsync(
            "postgres",
            new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = server, Schema = schema }, Counter.Types()),
            b => b.UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = server, Schema = schema }),
            saves,
            samples);
    }
    finally
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(server);
        await using NpgsqlCommand drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}

return 0;

static async Task RunAsync(string name, RelationalEventStore store, Action<BusBuilder> outbox, int saves, int samples)
{
    ConcurrentDictionary<string, long> handledAt = new(StringComparer.Ordinal);
    int handled = 0;
    TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int expected = saves;
    await using IMessageBus bus = MessageBus.Create(b =>
    {
        b.AddMessageType<CounterIncremented>("bench.counter-incremented");
        outbox(b);
        b.Handle<CounterIncremented>(e =>
        {
            handledAt[e.AggregateId] = Stopwatch.GetTimestamp();
            if (Interlocked.Increment(ref handled) == Volatile.Read(ref expected))
            {
                all.TrySetResult();
            }
        });
    });
    await using (store)
    {
        AggregateRepository<Counter> repository = new(store, bus, id => new Counter(id));
        if (!repository.PublishesThroughOutbox)
        {
            throw new InvalidOperationException("the repository must publish through the outbox");
        }

        await WarmUpAsync(repository);
        Interlocked.Exchange(ref handled, 0);

        // Throughput: 4 writers, one new aggregate with one event per save, until every event was handled.
        Stopwatch elapsed = Stopwatch.StartNew();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < saves)
            {
                Counter counter = repository.CreateNew($"t-{i}");
                counter.Increment(1);
                await repository.SaveAsync(counter);
            }
        })));
        await all.Task.WaitAsync(TimeSpan.FromMinutes(2));
        double throughput = saves / elapsed.Elapsed.TotalSeconds;

        // Latency: one save at a time, from its commit (SaveAsync returned) to the handler.
        double[] latencies = new double[samples];
        for (int i = 0; i < samples; i++)
        {
            string id = $"l-{i}";
            Counter counter = repository.CreateNew(id);
            counter.Increment(1);
            await repository.SaveAsync(counter);
            long committed = Stopwatch.GetTimestamp();
            long at;
            while (!handledAt.TryGetValue(id, out at))
            {
                await Task.Yield();
            }

            latencies[i] = Math.Max(0, Stopwatch.GetElapsedTime(committed, at).TotalMilliseconds);
        }

        Array.Sort(latencies);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {throughput:N0} | {latencies[latencies.Length / 2]:0.0} ms | {latencies[(int)(latencies.Length * 0.99)]:0.0} ms |"));
    }
}

static async Task WarmUpAsync(AggregateRepository<Counter> repository)
{
    for (int i = 0; i < 50; i++)
    {
        Counter counter = repository.CreateNew($"w-{i}");
        counter.Increment(1);
        await repository.SaveAsync(counter);
    }

    await Task.Delay(500);
}
