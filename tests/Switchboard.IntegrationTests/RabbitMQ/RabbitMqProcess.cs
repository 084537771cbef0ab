using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RabbitMQ.Client;

namespace Switchboard.IntegrationTests.RabbitMQ;

/// <summary>
/// A RabbitMQ node of a test's own (its own node name, free loopback ports, data in a temporary directory), so that a test
/// can kill and restart it without disturbing the shared node of scripts/servers.sh. rabbitmq-server must be installed
/// (scripts/servers.sh installs it); without it the test fails, it does not skip.
/// </summary>
public sealed class RabbitMqProcess : IAsyncDisposable
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private readonly string _directory = Directory.CreateTempSubdirectory("switchboard-rabbitmq-").FullName;
    private readonly string _node = $"sbtest{Guid.NewGuid().ToString("N")[..8]}@localhost";
    private readonly int _distPort = FreePort();
    private Process? _process;

    public RabbitMqProcess()
    {
        Port = FreePort();
        File.WriteAllText(Path.Combine(_directory, "rabbitmq.conf"), $"listeners.tcp.default = 127.0.0.1:{Port}\nloopback_users.guest = true\n");
        File.WriteAllText(Path.Combine(_directory, "enabled_plugins"), "[].");
    }

    public int Port { get; }

    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    /// <summary>Starts the node on its data directory and waits until it accepts an AMQP connection (a few seconds).</summary>
    public async Task StartAsync()
    {
        if (!File.Exists(Server))
        {
            throw new InvalidOperationException($"{Server} is missing: run scripts/servers.sh start (it installs rabbitmq-server) before these tests.");
        }

        ProcessStartInfo start = new(Server)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["RABBITMQ_NODENAME"] = _node;
        start.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_DIST_PORT"] = _distPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory, "log");
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory, "rabbitmq");
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins");
        start.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_directory, "rabbitmq.pid");
        start.Environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}";
        _process = Process.Start(start) ?? throw new InvalidOperationException("rabbitmq-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        ConnectionFactory factory = new() { Uri = Uri };
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"rabbitmq-server exited with {_process.ExitCode}; see {_directory}/log.");
            }

            try
            {
                await using IConnection connection = await factory.CreateConnectionAsync();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Kills the node as a crash would (SIGKILL to the Erlang VM and its helpers), and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
        // The port is free again once the VM is gone.
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using TcpClient client = new();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
