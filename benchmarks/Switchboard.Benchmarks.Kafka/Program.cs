using System.Diagnostics;
using System.Globalization;
using System.Text;
using Switchboard.Benchmarks.Kafka;

// Usage: dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Kafka -- [bootstrap servers] [messages] [producers]
//        [--processes N] [--docs docs/benchmarks.md] [--check-wolverine] [--broker-pid PID] [--only raw|switchboard|wolverine]
// --broker-pid: the broker's process (e.g. $(cat .servers/kafka/broker.pid)), so that its CPU time per message is shown too.
// --only (with --child): one contender only, for profiling it alone (perf record); no verdicts.
// --fetch-wait-ms: fetch.wait.max.ms of all three consumers (default 10; see Contenders.FetchWaitMs for why not librdkafka's 500).
// End-to-end throughput against one Kafka, in N fresh processes one after the other (default 3). Each process warms up
// every contender once, then runs 3 rounds, each round raw → Switchboard → Wolverine (interleaved, so noise on a shared
// machine hits all three alike), and reports each contender's median. Contenders (Contenders.cs): a raw Confluent.Kafka
// produce + consume + store/commit loop, Switchboard, WolverineFx.Kafka. The ratios are Switchboard's rate over the other
// two in the same process; the verdicts use each process's ratio and the median of the processes' ratios.
// NOTE: against librdkafka's mock cluster (scripts/servers.sh start kafka) the broker lives in one process on loopback
// with no disk or replication: the numbers compare clients on the same machine, they are not broker numbers.
// --docs writes the result into the kafka-harness block of that file.
List<string> positional = [];
int processes = 3;
string? docs = null;
bool child = false;
string? only = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--processes": processes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--docs": docs = args[++i]; break;
        case "--child": child = true; break;
        case "--broker-pid": Cost.BrokerPid = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--only": only = args[++i]; break;
        case "--fetch-wait-ms": Contenders.FetchWaitMs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--check-wolverine": break;
        default: positional.Add(args[i]); break;
    }
}

string bootstrap = positional.Count > 0 ? positional[0] : "127.0.0.1:9092";
int messages = positional.Count > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 20000;
// 256 sends in flight: the rate is bound by the clients' and the broker's CPU. With 32, every contender waits on the
// same produce cycle (linger + delivery report) and all three run at that ceiling (docs/transports/kafka.md).
int producers = positional.Count > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 256;
string run = "bench-" + Guid.NewGuid().ToString("N")[..8] + ".";

if (args.Contains("--check-wolverine"))
{
    await WolverineCheck.RunAsync(bootstrap, run + "check-wolverine");
    return 0;
}

if (child)
{
    int warmCount = Math.Min(2000, messages);
    Func<string, int, Task<Cost>>[] contenders =
    [
        (name, n) => Contenders.RawAsync(bootstrap, name, n, producers),
        (name, n) => Contenders.SwitchboardAsync(bootstrap, name + ".", n, producers),
        (name, n) => Contenders.WolverineAsync(bootstrap, name, n, producers),
    ];
    string[] names = ["raw", "bus", "wolverine"];
    int[] which = only switch
    {
        null => [0, 1, 2],
        "raw" => [0],
        "switchboard" => [1],
        "wolverine" => [2],
        _ => throw new ArgumentException("--only takes raw, switchboard or wolverine"),
    };
    foreach (int c in which)
    {
        await contenders[c]($"{run}warm-{names[c]}", warmCount);
    }

    List<Cost>[] costs = [[], [], []];
    for (int i = 0; i < 3; i++)
    {
        foreach (int c in which)
        {
            costs[c].Add(await contenders[c]($"{run}{names[c]}{i}", messages));
        }

        Console.WriteLine(FormattableString.Invariant($"round {i + 1} (load {Load()}):"));
        foreach (int c in which)
        {
            Console.WriteLine($"round   {names[c],-9} {costs[c][i]}");
        }
    }

    if (only is null)
    {
        Console.WriteLine("RESULT " + string.Join(' ', costs.SelectMany(c => (double[])[
            Median([.. c.Select(r => r.Rate)]), Spread([.. c.Select(r => r.Rate)]), Median([.. c.Select(r => r.ClientCpuUs)]), Median([.. c.Select(r => r.BrokerCpuUs)]), Median([.. c.Select(r => r.AllocatedBytes)])])
            .Select(v => v.ToString("0.0", CultureInfo.InvariantCulture))));
    }

    return 0;
}

string cpu = Cpu();
Console.WriteLine($"Kafka at {bootstrap}; {messages} messages, {producers} producers, {Contenders.Keys} keys, {processes} processes; {Environment.ProcessorCount} cores ({cpu})");
string loadBefore = Load();
List<Measured> measured = [];
for (int p = 1; p <= processes; p++)
{
    Measured m = await MeasureInChildAsync(bootstrap, messages, producers);
    measured.Add(m);
    Console.WriteLine(FormattableString.Invariant($"process {p}: raw {m.Raw:N0}/s, Switchboard {m.Bus:N0}/s ({m.Bus / m.Raw:P0}), Wolverine {m.Wolverine:N0}/s (Switchboard {m.Bus / m.Wolverine:0.00} ×)"));
    Console.WriteLine(FormattableString.Invariant($"  median CPU per message, client / broker: raw {m.Cpu[0]:0} / {m.Cpu[1]:0} µs, Switchboard {m.Cpu[2]:0} / {m.Cpu[3]:0} µs, Wolverine {m.Cpu[4]:0} / {m.Cpu[5]:0} µs; allocated per message: raw {m.Allocated[0]:0} B, Switchboard {m.Allocated[1]:0} B, Wolverine {m.Allocated[2]:0} B"));
}

string loadAfter = Load();
double vsRaw = Median([.. measured.Select(m => m.Bus / m.Raw)]);
double vsWolverine = Median([.. measured.Select(m => m.Bus / m.Wolverine)]);
List<string> lines =
[
    "| process | raw Confluent.Kafka produce → consume → store + commit | Switchboard publish → handle → watermark commit | WolverineFx.Kafka 6.62 publish (inline) → handle | Switchboard / raw (≥ 70 %) | Switchboard / Wolverine (≥ 1.0 ×) |",
    "|---:|---:|---:|---:|---:|---:|",
    .. measured.Select((m, i) => FormattableString.Invariant(
        $"| {i + 1} | {m.Raw:N0}/s (± {m.RawSpread / 2:N0}) | {m.Bus:N0}/s (± {m.BusSpread / 2:N0}) | {m.Wolverine:N0}/s (± {m.WolverineSpread / 2:N0}) | {m.Bus / m.Raw:P0} {Verdict(m.Bus / m.Raw >= 0.7)} | {m.Bus / m.Wolverine:0.00} × {Verdict(m.Bus / m.Wolverine >= 1.0)} |")),
    FormattableString.Invariant($"| **median of the {processes} ratios** | | | | **{vsRaw:P0}** {Verdict(vsRaw >= 0.7)} | **{vsWolverine:0.00} ×** {Verdict(vsWolverine >= 1.0)} |"),
];
Console.WriteLine();
lines.ForEach(Console.WriteLine);
Console.WriteLine($"load (1 min) before {loadBefore}, after {loadAfter}");
if (docs is not null)
{
    // The broker's address is the one of this run (the mock's port changes every start): the command shows where it comes from.
    WriteSection(docs, lines, $"{string.Join(' ', positional.Skip(1).Prepend("$(cat .servers/kafka/bootstrap)"))} --processes {processes}", producers, cpu, loadBefore, loadAfter);
    string chart = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(docs))!, "benchmarks-kafka.png");
    KafkaChart.Save(chart, [.. measured.Select(m => (double[])[m.Raw, m.Bus, m.Wolverine])], messages, producers);
    Console.WriteLine($"written to {docs} and {chart}");
}

return 0;

// Runs this program again with --child: each measurement in a fresh process (its own JIT, thread pool and clients).
static async Task<Measured> MeasureInChildAsync(string bootstrap, int messages, int producers)
{
    string self = Environment.ProcessPath!;
    ProcessStartInfo start = new(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        start.ArgumentList.Add(typeof(Contenders).Assembly.Location);
    }

    foreach (string arg in (string[])[bootstrap, messages.ToString(CultureInfo.InvariantCulture), producers.ToString(CultureInfo.InvariantCulture), "--child"])
    {
        start.ArgumentList.Add(arg);
    }

    start.ArgumentList.Add("--fetch-wait-ms");
    start.ArgumentList.Add(Contenders.FetchWaitMs.ToString(CultureInfo.InvariantCulture));
    if (Cost.BrokerPid is { } brokerPid)
    {
        start.ArgumentList.Add("--broker-pid");
        start.ArgumentList.Add(brokerPid.ToString(CultureInfo.InvariantCulture));
    }

    using Process process = Process.Start(start)!;
    StringBuilder output = new();
    while (await process.StandardOutput.ReadLineAsync() is { } line)
    {
        output.AppendLine(line);
        if (line.StartsWith("round ", StringComparison.Ordinal) || line.StartsWith("detail ", StringComparison.Ordinal))
        {
            Console.WriteLine("  " + line);
        }
    }

    await process.WaitForExitAsync();
    string? result = output.ToString().Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
    if (process.ExitCode != 0 || result is null)
    {
        throw new InvalidOperationException($"the measuring process failed (exit code {process.ExitCode}): {output}");
    }

    // Per contender (raw, Switchboard, Wolverine): median rate, spread of the rates, median client CPU, broker CPU and bytes allocated per message.
    double[] v = [.. result.Trim().Split(' ').Skip(1).Select(s => double.Parse(s, CultureInfo.InvariantCulture))];
    return new Measured(v[0], v[5], v[10], v[1], v[6], v[11], [v[2], v[3], v[7], v[8], v[12], v[13]], [v[4], v[9], v[14]]);
}

static string Verdict(bool met) => met ? "met" : "**missed**";

static double Median(List<double> values)
{
    List<double> sorted = [.. values.Order()];
    return sorted[sorted.Count / 2];
}

static double Spread(List<double> values) => values.Max() - values.Min();

static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

static string Cpu() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
    : "?";

// Replaces the kafka-harness block of docs/benchmarks.md (or adds it before "## Machine").
static void WriteSection(string path, List<string> lines, string arguments, int producers, string cpu, string loadBefore, string loadAfter)
{
    const string Begin = "<!-- kafka-harness:begin -->", End = "<!-- kafka-harness:end -->";
    StringBuilder section = new();
    section.AppendLine(Begin);
    section.AppendLine("### Kafka (librdkafka's mock cluster, not a broker)");
    section.AppendLine();
    section.AppendLine($"Measured on {DateTime.UtcNow:yyyy-MM-dd} with `dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.Kafka -- {arguments} --docs docs/benchmarks.md`");
    section.AppendLine($"({Environment.ProcessorCount} cores of an {cpu} shared with the broker process and other work, load {loadBefore} before and {loadAfter} after).");
    section.AppendLine("**The broker is librdkafka's in-process mock cluster** (`tests/Switchboard.KafkaMockBroker`, from `scripts/servers.sh start kafka`):");
    section.AppendLine("one process on loopback, no disk, no replication, sharing the cores with the clients. The figures compare three clients");
    section.AppendLine("against the same broker in the same run; they are not Kafka broker numbers and say nothing about a real cluster.");
    section.AppendLine("Each process warms up every contender, then runs 3 rounds of raw → Switchboard → Wolverine (interleaved) and reports");
    section.AppendLine("each contender's median (± half the spread of its 3 rounds). All three: acks=all, idempotent producer, linger 5 ms,");
    section.AppendLine($"every send awaiting its delivery report ({producers} concurrent producers, {Contenders.Keys} keys), a consumer group (cooperative-sticky)");
    section.AppendLine("storing offsets once a record is handled and committing them in the background every second, and");
    section.AppendLine($"fetch.wait.max.ms {Contenders.FetchWaitMs} ms (the mock holds a fetch that finds nothing for the whole wait instead of answering");
    section.AppendLine("when a record arrives, as a broker does; with librdkafka's 500 ms every round ended with a random idle tail of up to 0.5 s).");
    section.AppendLine("Details: [transports/kafka.md](transports/kafka.md#performance).");
    section.AppendLine();
    foreach (string line in lines)
    {
        section.AppendLine(line);
    }

    section.AppendLine();
    section.AppendLine("![Kafka end-to-end throughput per process (mock cluster)](benchmarks-kafka.png)");
    section.Append(End);
    string text = File.ReadAllText(path);
    int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
    int machine = text.IndexOf("## Machine", StringComparison.Ordinal);
    text = begin >= 0 && end > begin
        ? text[..begin] + section + text[(end + End.Length)..]
        : machine < 0 ? text + Environment.NewLine + section + Environment.NewLine : text[..machine] + section + Environment.NewLine + Environment.NewLine + text[machine..];
    File.WriteAllText(path, text);
}

internal sealed record Measured(double Raw, double Bus, double Wolverine, double RawSpread, double BusSpread, double WolverineSpread, double[] Cpu, double[] Allocated);
