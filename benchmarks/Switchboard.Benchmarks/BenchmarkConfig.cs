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
            ? Job.Default.WithId("Full").WithLaunchCount(Samples.DispatchProcesses)
            // Short: 3 processes per benchmark, each 3 warm-ups and 10 measured iterations of 200 ms. A process settles
            // into its own code layout and tiering, so its mean can differ from the next one's by several nanoseconds
            // for every library: the report shows each process's mean and checks targets per pair of processes.
            : Job.Default.WithId("Short")
                .WithLaunchCount(Samples.DispatchProcesses)
                .WithWarmupCount(3)
                .WithIterationCount(10)
                .WithIterationTime(TimeInterval.FromMilliseconds(200));

        if (inProcess)
        {
            // No generated project per benchmark: on a loaded machine BenchmarkDotNet's build of it can pass its
            // two-minute timeout. Less isolation (one process for all), so only for focused runs.
            // Its "launches" would all run in this one process: benchmarks/run.sh --in-process runs separate processes instead.
            job = job.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance).WithLaunchCount(1);
        }

        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(CategoriesColumn.Default)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default, JsonExporter.Full)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared))
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithOption(ConfigOptions.JoinSummary, true);
    }
}
