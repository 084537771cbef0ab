using System.Text.Json;

namespace Switchboard.Benchmarks.Report;

/// <summary>
/// One measured benchmark: mean time and allocation per operation, and the mean of each process that measured it
/// (BenchmarkDotNet's launches, or separate in-process runs): the spread the page reports beside the mean.
/// </summary>
internal sealed record Measurement(Case Case, Contender Contender, double MeanNs, double ErrorNs, double StdDevNs, long AllocatedBytes, IReadOnlyList<double> ProcessMeansNs);

/// <summary>The host BenchmarkDotNet ran on, as it reported it.</summary>
internal sealed record Host(string Os, string Processor, int PhysicalCores, int LogicalCores, string Runtime, string Sdk, string BenchmarkDotNet, string Job);

/// <summary>A BenchmarkDotNet run, read from its JSON exporter's output (<c>*-report-brief.json</c> or <c>*-report-full.json</c>).</summary>
internal sealed class Results
{
    public required Host Host { get; init; }

    public required IReadOnlyList<Measurement> Measurements { get; init; }

    public Measurement? Find(Case c, Contender who) => Measurements.FirstOrDefault(m => m.Case == c && m.Contender == who);

    public static Results Load(IEnumerable<string> files)
    {
        List<Measurement> measurements = [];
        Host? host = null;
        foreach (string file in files)
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement root = doc.RootElement;
            JsonElement env = root.GetProperty("HostEnvironmentInfo");
            foreach (JsonElement b in root.GetProperty("Benchmarks").EnumerateArray())
            {
                string type = b.GetProperty("Type").GetString()!;
                string method = b.GetProperty("Method").GetString()!;
                Contender? who = Catalog.ContenderOf(type);
                Case? c = Catalog.CaseOf(method);
                if (who is null || c is null)
                {
                    Console.Error.WriteLine($"report: skipping {type}.{method}: not in the catalog");
                    continue;
                }

                if (!b.TryGetProperty("Statistics", out JsonElement stats) || stats.ValueKind != JsonValueKind.Object)
                {
                    Console.Error.WriteLine($"report: {type}.{method} has no statistics (did it fail?)");
                    continue;
                }

                double error = stats.TryGetProperty("ConfidenceInterval", out JsonElement ci) && ci.TryGetProperty("Margin", out JsonElement margin)
                    ? margin.GetDouble()
                    : double.NaN;
                long allocated = b.TryGetProperty("Memory", out JsonElement memory) && memory.ValueKind == JsonValueKind.Object
                    ? memory.GetProperty("BytesAllocatedPerOperation").GetInt64()
                    : -1;
                double mean = stats.GetProperty("Mean").GetDouble();
                double[] processes = ProcessMeans(b, mean);
                Measurement? earlier = measurements.Find(m => m.Case == c && m.Contender == who);
                if (earlier is null)
                {
                    measurements.Add(new Measurement(c, who, mean, error, stats.GetProperty("StandardDeviation").GetDouble(), allocated, processes));
                }
                else
                {
                    // The same benchmark from another run (separate in-process runs): its processes join the earlier ones;
                    // the mean is the processes' mean, and the error bar of one run no longer applies.
                    measurements.Remove(earlier);
                    double[] all = [.. earlier.ProcessMeansNs, .. processes];
                    measurements.Add(new Measurement(c, who, all.Average(), double.NaN, double.NaN, Math.Max(earlier.AllocatedBytes, allocated), all));
                }

                host ??= new Host(
                    Os: env.GetProperty("OsVersion").GetString() ?? "?",
                    Processor: env.GetProperty("ProcessorName").GetString() ?? "?",
                    PhysicalCores: env.TryGetProperty("PhysicalCoreCount", out JsonElement pc) && pc.ValueKind == JsonValueKind.Number ? pc.GetInt32() : 0,
                    LogicalCores: env.TryGetProperty("LogicalCoreCount", out JsonElement lc) && lc.ValueKind == JsonValueKind.Number ? lc.GetInt32() : 0,
                    Runtime: env.GetProperty("RuntimeVersion").GetString() ?? "?",
                    Sdk: env.TryGetProperty("DotNetCliVersion", out JsonElement sdk) ? sdk.GetString() ?? "?" : "?",
                    BenchmarkDotNet: env.GetProperty("BenchmarkDotNetVersion").GetString() ?? "?",
                    Job: JobOf(b.GetProperty("DisplayInfo").GetString() ?? ""));
            }
        }

        if (host is null)
        {
            throw new InvalidOperationException("No benchmark results found in: " + string.Join(", ", files));
        }

        return new Results { Host = host, Measurements = measurements };
    }

    /// <summary>
    /// The mean time per operation of each process (BenchmarkDotNet launch) in a full JSON report: its workload results
    /// (overhead already subtracted) grouped by launch. A brief report has no measurements: then the one mean.
    /// </summary>
    private static double[] ProcessMeans(JsonElement benchmark, double mean)
    {
        if (!benchmark.TryGetProperty("Measurements", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
        {
            return [mean];
        }

        SortedDictionary<int, List<double>> byLaunch = [];
        foreach (JsonElement m in list.EnumerateArray())
        {
            if (m.GetProperty("IterationMode").GetString() != "Workload" || m.GetProperty("IterationStage").GetString() != "Result")
            {
                continue;
            }

            int launch = m.GetProperty("LaunchIndex").GetInt32();
            double perOperation = m.GetProperty("Nanoseconds").GetDouble() / m.GetProperty("Operations").GetInt64();
            if (!byLaunch.TryGetValue(launch, out List<double>? values))
            {
                byLaunch[launch] = values = [];
            }

            values.Add(perOperation);
        }

        return byLaunch.Count == 0 ? [mean] : [.. byLaunch.Values.Select(v => v.Average())];
    }

    // "Type.Method: Short(IterationCount=5, ...)" -> "Short(IterationCount=5, ...)"
    private static string JobOf(string displayInfo)
    {
        int colon = displayInfo.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? displayInfo : displayInfo[(colon + 2)..];
    }
}
