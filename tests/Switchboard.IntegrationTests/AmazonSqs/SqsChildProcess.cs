using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>A process a test starts and kills for real: the worker, or an SQS emulator of the test's own.</summary>
public sealed class SqsChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];

    private SqsChildProcess(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _lines.Add(e.Data); } };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts tests/Switchboard.IntegrationTests.Worker with the arguments.</summary>
    public static SqsChildProcess Worker(params string[] arguments)
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "Switchboard.IntegrationTests.Worker.dll");
        Assert.True(File.Exists(worker), $"the worker is built next to the tests: {worker}");
        ProcessStartInfo start = new("dotnet") { ArgumentList = { worker } };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new SqsChildProcess(start);
    }

    /// <summary>Starts the emulator scripts/servers.sh installed (.servers/sqs) on a free loopback port, and waits until it answers.</summary>
    public static async Task<(SqsChildProcess Process, Uri Url)> EmulatorAsync(int? port = null)
    {
        string app = Path.Combine(RepositoryRoot(), ".servers", "npm", "node_modules", "fauxqs", "dist", "app.js");
        Assert.True(File.Exists(app), $"the SQS emulator is installed into .servers/npm by `scripts/servers.sh start sqs`: {app}");
        int chosen = port ?? FreePort();
        // Through the launcher scripts/servers.sh uses: fauxqs 1.x alone would listen on 0.0.0.0.
        ProcessStartInfo start = new("node") { ArgumentList = { Path.Combine(RepositoryRoot(), "scripts", "fauxqs-loopback.mjs"), app } };
        start.Environment["FAUXQS_PORT"] = chosen.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["FAUXQS_HOST"] = "127.0.0.1";
        start.Environment["FAUXQS_LOGGER"] = "false";
        SqsChildProcess process = new(start);
        Uri url = new($"http://127.0.0.1:{chosen}");
        using HttpClient http = new();
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using TcpClient probe = new();
                await probe.ConnectAsync(IPAddress.Loopback, chosen);
                return (process, url);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        await process.DisposeAsync();
        throw new InvalidOperationException($"the SQS emulator did not listen on {url}");
    }

    public void WaitForLine(string expected, TimeSpan patience)
    {
        using CancellationTokenSource timeout = new(patience);
        foreach (string line in _lines.GetConsumingEnumerable(timeout.Token))
        {
            if (line == expected)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the tests run inside the repository");
    }
}
