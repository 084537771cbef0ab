using System.Net;
using System.Net.Sockets;

namespace Switchboard.IntegrationTests.Faults;

/// <summary>
/// A TCP forwarder on loopback between a client and a server, for fault tests. It passes traffic, resets every
/// connection (an RST, as when a server or a middlebox drops state), or stalls: bytes stop flowing both ways while the
/// sockets stay open, with no RST and no FIN, as on a network that silently drops packets. New connections made during
/// a stall are accepted and stall too. When the stall heals, what was held is delivered, as TCP retransmission would.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _gate = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;
    private TaskCompletionSource _flowing = NewFlowing(open: true);

    public FaultProxy(string host, int port)
    {
        _target = new IPEndPoint(IPAddress.Parse(host == "localhost" ? "127.0.0.1" : host), port);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>Gets the loopback port clients connect to instead of the server's.</summary>
    public int Port { get; }

    /// <summary>Gets the proxy's endpoint as <c>127.0.0.1:port</c>.</summary>
    public string EndPoint => $"127.0.0.1:{Port}";

    /// <summary>Gets how many connections the proxy accepted so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Gets whether traffic is stalled.</summary>
    public bool Stalled => !_flowing.Task.IsCompleted;

    /// <summary>Creates a proxy in front of a <c>host:port</c> endpoint.</summary>
    public static FaultProxy For(string hostAndPort)
    {
        int colon = hostAndPort.LastIndexOf(':');
        return new FaultProxy(hostAndPort[..colon], int.Parse(hostAndPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Stops every byte in both directions, without closing anything.</summary>
    public void Stall()
    {
        lock (_gate)
        {
            if (_flowing.Task.IsCompleted)
            {
                _flowing = NewFlowing(open: false);
            }
        }
    }

    /// <summary>Lets traffic flow again; what was held is delivered.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _flowing.TrySetResult();
        }
    }

    /// <summary>Resets every open connection with an RST (traffic flows for new ones).</summary>
    public void Reset()
    {
        Link[] links;
        lock (_gate)
        {
            links = [.. _links];
            _links.Clear();
        }

        foreach (Link link in links)
        {
            link.Reset();
        }

        Heal();
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _listener.Stop();
        Reset();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _closing.Dispose();
    }

    private static TaskCompletionSource NewFlowing(bool open)
    {
        TaskCompletionSource tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            tcs.SetResult();
        }

        return tcs;
    }

    private Task WhenFlowing()
    {
        lock (_gate)
        {
            return _flowing.Task;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            Socket client = await _listener.AcceptSocketAsync(_closing.Token);
            Accepted++;
            _ = Task.Run(() => ConnectAsync(client));
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        Socket server = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        Link link = new(client, server);
        lock (_gate)
        {
            _links.Add(link);
        }

        try
        {
            // A connection made during a stall is held before it reaches the server, like a SYN that got no answer yet.
            await WhenFlowing().WaitAsync(_closing.Token);
            await server.ConnectAsync(_target, _closing.Token);
            await Task.WhenAll(PumpAsync(client, server, link), PumpAsync(server, client, link));
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            link.Close();
            lock (_gate)
            {
                _links.Remove(link);
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to, Link link)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None, _closing.Token);
                await WhenFlowing().WaitAsync(_closing.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                int sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _closing.Token);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            link.Reset();
        }
    }

    private sealed class Link(Socket client, Socket server)
    {
        private int _closed;

        public void Reset()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            foreach (Socket socket in new[] { client, server })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0); // close with RST
                    socket.Close();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public void Close() => Reset();
    }
}
