using BenchmarkDotNet.Running;

namespace Switchboard.Benchmarks;

public static class Program
{
    /// <summary>
    /// Runs the suite. <c>--full</c> selects BenchmarkDotNet's default (long, precise) job; without it a short job runs.
    /// <c>--in-process</c> runs every benchmark in this process (no generated project to build; for focused runs on a loaded machine).
    /// <c>--smoke [filter]</c> only checks that every benchmark does the same work. Every other argument goes to
    /// BenchmarkDotNet (for example <c>--filter *Mediator*</c>).
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--smoke")
        {
            return SmokeCheck.Run(args.Length > 1 ? args[1] : null);
        }

        bool full = args.Contains("--full");
        bool inProcess = args.Contains("--in-process");
        string[] rest = args.Where(a => a is not "--full" and not "--in-process").ToArray();
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, BenchmarkConfig.Create(full, inProcess));
        return 0;
    }
}
