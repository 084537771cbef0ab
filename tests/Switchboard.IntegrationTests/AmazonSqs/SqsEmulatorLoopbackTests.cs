using System.Net;
using System.Net.Sockets;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The emulator the tests (and scripts/servers.sh) start listens on 127.0.0.1 only: fauxqs 1.x alone listens on 0.0.0.0,
/// scripts/fauxqs-loopback.mjs binds it to loopback. 127.0.0.2 is loopback too, but a socket bound to 127.0.0.1 does not
/// accept it, while one bound to 0.0.0.0 does: so the check never leaves the machine's loopback interface.
/// </summary>
public sealed class SqsEmulatorLoopbackTests
{
    [Fact]
    public async Task The_emulator_listens_on_127_0_0_1_only()
    {
        (SqsChildProcess emulator, Uri url) = await SqsChildProcess.EmulatorAsync();
        await using (emulator)
        {
            using (TcpClient loopback = new())
            {
                await loopback.ConnectAsync(IPAddress.Loopback, url.Port);
            }

            using TcpClient other = new();
            SocketException refused = await Assert.ThrowsAsync<SocketException>(() => other.ConnectAsync(IPAddress.Parse("127.0.0.2"), url.Port));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
    }
}
