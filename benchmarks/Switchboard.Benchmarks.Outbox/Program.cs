using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Switchboard;
using Switchboard.Outbox;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Outbox -- [sqlite|postgres|both] [messages] [latency samples] [--docs docs/benchmarks.md]
// PostgreSQL is read from SWITCHBOARD_POSTGRES (scripts/servers.sh starts one on 127.0.0.1:5433).
// Measures, per store, in one run on one database:
//   1. latency: a transaction writes a business row and an event, commits; the time from the commit call to the event's
//      handler running in this process (the dispatcher woken by the commit), inbox on, one message at a time; p50/p99;
//   2. throughput: N messages written in transactions of 100, then dispatched to a no-op handler (inbox off, then on),
//      against a raw loop doing the same database work by hand — the same rows INSERTed in transactions of 100, then
//      SELECT 100 pending + UPDATE them dispatched until none is left — on a table with the same columns and row size.
string? docs = null;
int docsAt = Array.IndexOf(args, "--docs");
if (docsAt >= 0)
{
    docs = args[docsAt + 1];
    args = [.. args[..docsAt], .. args[(docsAt + 2)..]];
}

string which = args.Length > 0 ? args[0] : (Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES") is null ? "sqlite" : "both");
int messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
int samples = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 500;
const int batch = 100;

Console.WriteLine($"Switchboard outbox harness: {messages} messages in transactions of {batch}, {samples} latency samples; {Environment.ProcessorCount} cores");
List<string> rows = [];
foreach (Store store in Stores(which))
{
    Console.WriteLine($"== {store.Name}");
    await LatencyAsync(store, 50); // warm-up
    (double p50, double p99, double max) latency = await LatencyAsync(store, samples);
    Console.WriteLine($"latency commit → handler: p50 {latency.p50:0.00} ms, p99 {latency.p99:0.00} ms, max {latency.max:0.00} ms");

    // Warm-up at full size, so that the measured rounds run tiered, optimized code on both sides (as BenchmarkDotNet would).
    await RawAsync(store, messages, batch);
    await OutboxAsync(store, messages, batch, inbox: false);
    await OutboxAsync(store, Math.Min(messages, 2000), batch, inbox: true);
    List<double> raw = [], plain = [], inboxed = [];
    for (int i = 0; i < 3; i++)
    {
        raw.Add(await RawAsync(store, messages, batch));
        plain.Add(await OutboxAsync(store, messages, batch, inbox: false));
        inboxed.Add(await OutboxAsync(store, messages, batch, inbox: true));
    }

    double r = Median(raw), p = Median(plain), q = Median(inboxed);
    Console.WriteLine($"throughput: raw {r:N0}/s, outbox {p:N0}/s ({p / r:P0}), outbox + inbox {q:N0}/s ({q / r:P0})");
    string verdict = $"p99 ≤ 50 ms {(latency.p99 <= 50 ? "met" : "**missed**")}; ≥ 50 % of raw {(p / r >= 0.5 ? "met" : "**missed**")}";
    rows.Add($"| {store.Name} | {latency.p50:0.0} ms | {latency.p99:0.0} ms | {r:N0} | {p:N0} ({p / r:P0}) | {q:N0} ({q / r:P0}) | {verdict} |");
}

Console.WriteLine();
Console.WriteLine("| store | commit → handler p50 | p99 | raw INSERT + SELECT + UPDATE (msg/s) | outbox (msg/s, vs raw) | outbox + inbox (msg/s, vs raw) | targets |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
foreach (string row in rows)
{
    Console.WriteLine(row);
}

if (docs is not null)
{
    WriteSection(docs, rows, which, messages, samples);
    Console.WriteLine($"written to {docs}");
}

return 0;

// Replaces (or adds, before "## Machine") the outbox section of docs/benchmarks.md; benchmarks/run.sh keeps it.
static void WriteSection(string path, List<string> rows, string which, int messages, int samples)
{
    const string Begin = "<!-- outbox-harness:begin -->", End = "<!-- outbox-harness:end -->";
    string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
    StringBuilder section = new();
    section.AppendLine(Begin);
    section.AppendLine("### Outbox");
    section.AppendLine();
    section.AppendLine($"Measured on {DateTime.UtcNow:yyyy-MM-dd} with `dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Outbox -- {which} {messages} {samples} --docs docs/benchmarks.md`");
    section.AppendLine($"({Environment.ProcessorCount} cores, load {load}; PostgreSQL from `scripts/servers.sh start`, SQLite on a file with WAL and `synchronous=FULL`).");
    section.AppendLine("Latency: one transaction (a business row and an event) at a time, from the commit call to the handler in the same process,");
    section.AppendLine("inbox on; targets p99 ≤ 50 ms. Throughput: messages written in transactions of 100 while the dispatcher runs, to a no-op");
    section.AppendLine("handler, against a raw loop doing the same database work by hand on a table of the same shape and row size (one writer");
    section.AppendLine("INSERTing in transactions of 100, one reader SELECTing 100 pending rows and UPDATEing them dispatched); target ≥ 50 % of raw");
    section.AppendLine("without the inbox. With the inbox every message is handled in its own transaction that commits (an fsync), which bounds it.");
    section.AppendLine("The raw loop takes no lease: the outbox writes every row twice more (the lease of its claim, then the mark), the price of");
    section.AppendLine("several dispatchers never sending the same row; on SQLite, whose one writer serializes the application's inserts, the");
    section.AppendLine("claims and the marks, that price shows most ([outbox.md](outbox.md#performance)).");
    section.AppendLine();
    section.AppendLine("| store | commit → handler p50 | p99 | raw INSERT + SELECT + UPDATE (msg/s) | outbox (msg/s, vs raw) | outbox + inbox (msg/s, vs raw) | targets |");
    section.AppendLine("|---|---:|---:|---:|---:|---:|---|");
    foreach (string row in rows)
    {
        section.AppendLine(row);
    }

    section.Append(End);
    string text = File.ReadAllText(path);
    int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
    if (begin >= 0 && end > begin)
    {
        text = text[..begin] + section + text[(end + End.Length)..];
    }
    else
    {
        int machine = text.IndexOf("## Machine", StringComparison.Ordinal);
        text = machine < 0 ? text + Environment.NewLine + section + Environment.NewLine : text[..machine] + section + Environment.NewLine + Environment.NewLine + text[machine..];
    }

    File.WriteAllText(path, text);
}

static IEnumerable<Store> Stores(string which)
{
    if (which is "sqlite" or "both")
    {
        string directory = Path.Combine(Path.GetTempPath(), "switchboard-outbox-bench");
        Directory.CreateDirectory(directory);
        yield return new Store("sqlite", run => $"Data Source={Path.Combine(directory, run + ".db")}", Sqlite: true);
    }

    if (which is "postgres" or "both")
    {
        string connection = Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES")
            ?? throw new InvalidOperationException("Set SWITCHBOARD_POSTGRES (scripts/servers.sh starts PostgreSQL on 127.0.0.1:5433).");
        yield return new Store("postgres", _ => connection, Sqlite: false);
    }
}

static IMessageBus CreateBus(Store store, string run, Action<BusBuilder> handlers, Action<OutboxOptions> configure)
{
    return MessageBus.Create(b =>
    {
        b.Configure(o => o.Name = run);
        handlers(b);
        if (store.Sqlite)
        {
            b.UseSqliteOutbox(new Switchboard.Sqlite.SqliteOutboxStoreOptions { ConnectionString = store.ConnectionString(run), TablePrefix = $"{run}_" }, configure);
        }
        else
        {
            b.UsePostgresOutbox(new Switchboard.Postgres.PostgresOutboxStoreOptions { ConnectionString = store.ConnectionString(run), TablePrefix = $"{run}_" }, configure);
        }
    });
}

static async Task<(double p50, double p99, double max)> LatencyAsync(Store store, int count)
{
    string run = Run("lat");
    ConcurrentDictionary<int, long> handledAt = new();
    TaskCompletionSource[] signals = new TaskCompletionSource[count];
    for (int i = 0; i < count; i++)
    {
        signals[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    await using IMessageBus bus = CreateBus(
        store,
        run,
        b => b.Handle<BenchOrderCreated>(e =>
        {
            handledAt[e.Number] = Stopwatch.GetTimestamp();
            signals[e.Number].TrySetResult();
        }),
        o => o.PollInterval = TimeSpan.FromSeconds(30)); // a poll would show as a 30 s outlier: only the commit wakes it
    IOutbox outbox = bus.GetOutbox();
    await outbox.Store.EnsureSchemaAsync();
    await using DbConnection connection = await outbox.Store.OpenConnectionAsync();
    await Execute(connection, null, $"CREATE TABLE IF NOT EXISTS {run}_orders (id TEXT PRIMARY KEY, amount BIGINT NOT NULL)");
    double[] latencies = new double[count];
    for (int i = 0; i < count; i++)
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await Execute(connection, transaction, $"INSERT INTO {run}_orders (id, amount) VALUES ('ord-{i}', {i})");
        await outbox.PublishAsync(transaction, new BenchOrderCreated(i, $"ord-{i}", i, Bench.Payload));
        long committing = Stopwatch.GetTimestamp();
        await transaction.CommitAsync();
        await signals[i].Task.WaitAsync(TimeSpan.FromSeconds(10));
        latencies[i] = Stopwatch.GetElapsedTime(committing, handledAt[i]).TotalMilliseconds;
    }

    Array.Sort(latencies);
    return (Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1]);
}

// Writes every message in transactions of `batch` while the background dispatcher runs: from the first write to the last handler.
static async Task<double> OutboxAsync(Store store, int count, int batch, bool inbox)
{
    string run = Run(inbox ? "inb" : "out");
    int handled = 0;
    TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    await using IMessageBus bus = CreateBus(
        store,
        run,
        b => b.Handle<BenchOrderCreated>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                done.TrySetResult();
            }
        }),
        o =>
        {
            o.UseInbox = inbox;
            o.BatchSize = batch;
        });
    IOutbox outbox = bus.GetOutbox();
    await outbox.Store.EnsureSchemaAsync();
    await using DbConnection connection = await outbox.Store.OpenConnectionAsync();
    long started = Stopwatch.GetTimestamp();
    for (int written = 0; written < count;)
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        for (int i = 0; i < batch && written < count; i++, written++)
        {
            await outbox.PublishAsync(transaction, new BenchOrderCreated(written, $"ord-{written}", written, Bench.Payload));
        }

        await transaction.CommitAsync();
    }

    await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
    return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
}

// The same database work by hand, the lower bound of any outbox: rows of the outbox's shape and size INSERTed in
// transactions of `batch` by one writer while one reader SELECTs 100 pending rows and UPDATEs them dispatched, until every
// row is.
static async Task<double> RawAsync(Store store, int count, int batch)
{
    string run = Run("raw");
    string table = $"{run}_raw";
    string connectionString = store.ConnectionString(run);
    await using DbConnection writer = await OpenAsync(store, connectionString);
    await Execute(writer, null, store.Sqlite
        ? $"CREATE TABLE {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, destination TEXT NOT NULL, partition_key TEXT, headers TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL, dispatched_at INTEGER)"
        : $"CREATE TABLE {table} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id TEXT NOT NULL, destination TEXT NOT NULL, partition_key TEXT, headers TEXT NOT NULL, body BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL, dispatched_at TIMESTAMPTZ)");
    await Execute(writer, null, $"CREATE INDEX {table}_pending ON {table} (id) WHERE dispatched_at IS NULL");
    string headers = OutboxRows.SerializeHeaders(new Dictionary<string, string>
    {
        ["ce-specversion"] = "1.0", ["ce-id"] = "0197a3c2-0000-7000-8000-000000000000", ["ce-type"] = "BenchOrderCreated",
        ["ce-source"] = run, ["ce-time"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        ["content-type"] = "application/json", ["ce-correlationid"] = "0197a3c2-0000-7000-8000-000000000000",
    });
    byte[] body = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new BenchOrderCreated(0, "ord-0", 0, Bench.Payload)));

    long started = Stopwatch.GetTimestamp();
    Task reader = Task.Run(async () =>
    {
        await using DbConnection connection = await OpenAsync(store, connectionString);
        int dispatched = 0;
        while (dispatched < count)
        {
            await using DbTransaction transaction = await connection.BeginTransactionAsync();
            List<long> ids = new(100);
            List<(byte[] Body, string Headers)> read = new(100);
            await using (DbCommand select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = $"SELECT id, headers, body FROM {table} WHERE dispatched_at IS NULL ORDER BY id LIMIT 100";
                await using DbDataReader rows = await select.ExecuteReaderAsync();
                while (await rows.ReadAsync())
                {
                    ids.Add(rows.GetInt64(0));
                    read.Add(((byte[])rows.GetValue(2), rows.GetString(1)));
                }
            }

            if (ids.Count == 0)
            {
                await transaction.CommitAsync();
                await Task.Delay(1);
                continue;
            }

            await using (DbCommand update = connection.CreateCommand())
            {
                update.Transaction = transaction;
                update.CommandText = $"UPDATE {table} SET dispatched_at = {(store.Sqlite ? "1" : "now()")} WHERE id IN ({string.Join(',', ids)})";
                await update.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
            dispatched += ids.Count;
        }
    });

    await using (DbCommand insert = writer.CreateCommand())
    {
        insert.CommandText = $"INSERT INTO {table} (message_id, destination, partition_key, headers, body, created_at) VALUES (@m, 'switchboard:local', NULL, @h, @b, {(store.Sqlite ? "@t" : "now()")})";
        DbParameter m = Parameter(insert, "@m"), h = Parameter(insert, "@h"), b = Parameter(insert, "@b"), t = Parameter(insert, "@t");
        if (!store.Sqlite)
        {
            insert.Parameters.Remove(t);
        }

        for (int written = 0; written < count;)
        {
            await using DbTransaction transaction = await writer.BeginTransactionAsync();
            insert.Transaction = transaction;
            for (int i = 0; i < batch && written < count; i++, written++)
            {
                m.Value = $"msg-{written}";
                h.Value = headers;
                b.Value = body;
                t.Value = written;
                await insert.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }
    }

    await reader;
    return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
}

static DbParameter Parameter(DbCommand command, string name)
{
    DbParameter parameter = command.CreateParameter();
    parameter.ParameterName = name;
    command.Parameters.Add(parameter);
    return parameter;
}

static async Task<DbConnection> OpenAsync(Store store, string connectionString)
{
    DbConnection connection = store.Sqlite ? new SqliteConnection(connectionString) : new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    if (store.Sqlite)
    {
        // The same settings the SQLite store uses, so the raw loop pays what the outbox pays.
        await Execute(connection, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
    }

    return connection;
}

static async Task Execute(DbConnection connection, DbTransaction? transaction, string sql)
{
    await using DbCommand command = connection.CreateCommand();
    command.Transaction = transaction;
    command.CommandText = sql;
    await command.ExecuteNonQueryAsync();
}

static string Run(string kind) => $"b{kind}{Guid.NewGuid():N}"[..16];

static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

public sealed record BenchOrderCreated(int Number, string OrderId, long AmountCents, string Note);

internal sealed record Store(string Name, Func<string, string> ConnectionString, bool Sqlite);

internal static class Bench
{
    // About the size of a real event: an order with a short note.
    public const string Payload = "Two boxes of tea, delivered to the back door; call before noon.";
}
