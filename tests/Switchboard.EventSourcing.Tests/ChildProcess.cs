using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Switchboard.EventSourcing.Tests;

/// <summary>tests/Switchboard.EventSourcing.Worker run as a child process, to be killed for real.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly StringBuilder _errors = new();

    private ChildProcess(Process process) => _process = process;

    public static ChildProcess Start(params string[] args)
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "Switchboard.EventSourcing.Worker.dll");
        Assert.True(File.Exists(worker), $"the worker is built next to the tests: {worker}");
        ProcessStartInfo start = new("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(worker);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        ChildProcess child = new(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
        child._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { child._lines.Add(e.Data); } };
        child._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (child._errors) { child._errors.AppendLine(e.Data); } } };
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    public async Task WaitForLineAsync(string expected, TimeSpan timeout)
    {
        Stopwatch elapsed = Stopwatch.StartNew();
        while (true)
        {
            if (_lines.TryTake(out string? line, 50))
            {
                if (line == expected)
                {
                    return;
                }

                continue;
            }

            if (_process.HasExited || elapsed.Elapsed > timeout)
            {
                string errors;
                lock (_errors)
                {
                    errors = _errors.ToString();
                }

                Assert.Fail($"the worker did not print '{expected}' ({(_process.HasExited ? $"exited with {_process.ExitCode}" : "timed out")}): {errors}");
            }

            await Task.Yield();
        }
    }

    /// <summary>Kills the child as a crash would (SIGKILL), and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        _lines.Dispose();
    }
}
