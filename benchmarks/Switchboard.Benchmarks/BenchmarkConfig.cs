using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Order;
using Perfolizer.Horology;

namespace Switchboard.Benchmarks;

/// <summary>One configuration for the whole suite: every contender in one joined summary, so ratios come from one run.</summary>
public static class BenchmarkConfig
{
    public static IConfig Create(bool full, bool inProcess = false)
    {
        Job job = full
            ? Job.Default.WithId("Full")
            // Short: one process per benchmark, 3 warm-ups, 10 measured iterations of 200 ms. The whole suite
            // runs in a few minutes on 2 cores; ratios hold, the error bars are wider than the full job's.
            : Job.Default.WithId("Short")
                .WithLaunchCount(1)
                .WithWarmupCount(3)
                .WithIterationCount(10)
                .WithIterationTime(TimeInterval.FromMilliseconds(200));

        if (inProcess)
        {
            // No generated project per benchmark: on a loaded machine BenchmarkDotNet's build of it can pass its
            // two-minute timeout. Less isolation (one process for all), so only for focused runs.
            job = job.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance);
        }

        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(CategoriesColumn.Default)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default, JsonExporter.Brief)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared))
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithOption(ConfigOptions.JoinSummary, true);
    }
}
