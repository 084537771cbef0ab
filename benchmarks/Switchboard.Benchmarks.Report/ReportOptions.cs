namespace Switchboard.Benchmarks.Report;

/// <summary>What the report needs besides the measurements: where to write, and what to say about the run.</summary>
internal sealed class ReportOptions
{
    public required string ResultsPath { get; init; }

    public required string MarkdownPath { get; init; }

    public required string ChartPath { get; init; }

    public required string Command { get; init; }

    public string? CpuModel { get; init; }

    public string? Os { get; init; }

    /// <summary>The commit the run measured (the core changes quickly; a table without one cannot be reproduced).</summary>
    public string? Commit { get; init; }

    /// <summary>How busy the machine was around the run (other processes skew absolute times more than ratios).</summary>
    public string? Load { get; init; }

    public int Batch { get; init; } = 4096;

    /// <summary>Lines of the smoke check (<c>--smoke</c>) that failed: a contender that did not call every handler it should.</summary>
    public IReadOnlyList<string> SmokeFailures { get; init; } = [];

    public string Date { get; init; } = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The chart's path relative to the markdown file, as the link in it.</summary>
    public string ChartLink => Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(MarkdownPath))!, Path.GetFullPath(ChartPath)).Replace('\\', '/');
}
