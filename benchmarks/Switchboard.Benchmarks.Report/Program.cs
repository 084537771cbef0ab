using System.Globalization;

namespace Switchboard.Benchmarks.Report;

/// <summary>
/// Reads BenchmarkDotNet's JSON results and writes the markdown report and its chart.
/// Usage: report --results DIR_OR_JSON[,...] --markdown docs/benchmarks.md --chart docs/benchmarks.png --command "..." [--cpu "..."] [--os "..."] [--smoke smoke.log]
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Dictionary<string, string> a = new(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            a[args[i].TrimStart('-')] = args[i + 1];
        }

        if (!a.TryGetValue("results", out string? results) || !a.TryGetValue("markdown", out string? markdown) || !a.TryGetValue("chart", out string? chart))
        {
            Console.Error.WriteLine("usage: --results DIR_OR_JSON[,DIR_OR_JSON...] --markdown FILE.md --chart FILE.png [--command CMD] [--cpu MODEL] [--os NAME] [--load TEXT] [--commit SHA] [--smoke SMOKE.log]");
            return 2;
        }

        ReportOptions options = new()
        {
            ResultsPath = results,
            MarkdownPath = markdown,
            ChartPath = chart,
            Command = a.GetValueOrDefault("command", "benchmarks/run.sh"),
            CpuModel = a.GetValueOrDefault("cpu"),
            Os = a.GetValueOrDefault("os"),
            Load = a.GetValueOrDefault("load"),
            Commit = a.GetValueOrDefault("commit"),
            SmokeFailures = a.TryGetValue("smoke", out string? smoke) && File.Exists(smoke)
                ? File.ReadAllLines(smoke).Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)).ToArray()
                : [],
        };

        // Several result directories (comma-separated) are separate runs: each adds its processes to the spread.
        string[] files = [.. results.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).SelectMany(ResultFiles)];
        Results run = Results.Load(files);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(chart))!);
        Chart.Save(run, chart);
        // Sections that other harnesses write into this page (between <!-- name:begin --> and <!-- name:end -->) are kept.
        string? previous = File.Exists(markdown) ? File.ReadAllText(markdown) : null;
        File.WriteAllText(markdown, MarkdownReport.Write(run, options, previous));
        Console.WriteLine($"report: {run.Measurements.Count} measurements -> {markdown}, {chart}");
        foreach (TargetCheck check in Targets.Check(run))
        {
            Console.WriteLine($"  {(check.Met switch { true => "met   ", false => "MISSED", null => "n/a   " })} {check.Target}: {check.Measured}");
        }

        foreach (string failure in options.SmokeFailures)
        {
            Console.WriteLine($"  smoke  {failure}");
        }

        return 0;
    }

    /// <summary>A directory's JSON reports (the full one of a class when both exist: it has each process's measurements), or the one file given.</summary>
    private static IEnumerable<string> ResultFiles(string path)
    {
        if (!Directory.Exists(path))
        {
            return [path];
        }

        string[] full = Directory.GetFiles(path, "*-report-full.json");
        IEnumerable<string> briefOnly = Directory.GetFiles(path, "*-report-brief.json")
            .Where(b => !full.Contains(b.Replace("-report-brief.json", "-report-full.json", StringComparison.Ordinal), StringComparer.Ordinal));
        return full.Concat(briefOnly).Order(StringComparer.Ordinal);
    }
}
