using System.Net;
using System.Net.Sockets;

/// <summary>
/// Gives the mock broker a fixed address: listens on 127.0.0.1:<c>port</c> and relays every connection, byte for byte, to
/// the mock cluster's own listener (whose port the library picks). The host advertises the fixed port in its metadata, so
/// clients only ever see 127.0.0.1:<c>port</c>; a test can kill the host process and start a new one on the same address
/// (a broker restart, as a client sees it). When the process dies, so do the listener and every relayed connection.
/// </summary>
internal sealed class LoopbackPort(int port, int target) : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, port);
    private readonly CancellationTokenSource _stop = new();

    public void Start()
    {
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (TcpClient upstream = new())
        {
            client.NoDelay = true;
            upstream.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
                NetworkStream a = client.GetStream(), b = upstream.GetStream();
                // Either direction ending (or failing) ends both: the peer sees the connection close.
                await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            }
            catch (Exception)
            {
                // A connection that breaks is closed; the client reconnects as it would to a broker.
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
