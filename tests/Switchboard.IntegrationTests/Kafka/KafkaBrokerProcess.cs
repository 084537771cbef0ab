using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// A Kafka mock broker process of a test's own (tests/Switchboard.KafkaMockBroker, built next to the tests), on a fixed
/// loopback port: killed and started again on the same address, it is a broker restart as a client sees it. The mock
/// keeps nothing across the restart (topics, records, committed offsets and groups start empty).
/// </summary>
public sealed class KafkaBrokerProcess : IAsyncDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sb-kafka-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _process;

    public KafkaBrokerProcess()
    {
        Port = FreeLoopbackPort();
        Directory.CreateDirectory(_folder);
    }

    public int Port { get; }

    public string BootstrapServers => $"127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        string host = Path.Combine(AppContext.BaseDirectory, "Switchboard.KafkaMockBroker.dll");
        Assert.True(File.Exists(host), $"the mock broker is built next to the tests: {host}");
        string bootstrapFile = Path.Combine(_folder, "bootstrap");
        File.Delete(bootstrapFile);
        ProcessStartInfo start = new("dotnet")
        {
            ArgumentList = { host, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bootstrap-file", bootstrapFile },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.TrueAsync(() => File.Exists(bootstrapFile) || _process.HasExited, TimeSpan.FromSeconds(30));
        Assert.False(_process.HasExited, $"the mock broker exited with {(_process.HasExited ? _process.ExitCode : 0)} (port {Port} taken?)");
    }

    /// <summary>Kills the broker process (SIGKILL): its listener and every connection to it go at once.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreeLoopbackPort()
    {
        using TcpListener probe = new(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
