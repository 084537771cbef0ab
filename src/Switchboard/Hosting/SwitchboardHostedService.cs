using Microsoft.Extensions.Hosting;
using Switchboard.Bus;

namespace Switchboard.Hosting;

/// <summary>
/// Builds the bus when the host starts (so a configuration error stops the host at once, not on the first message),
/// starts its consumers, and drains and stops it with the host.
/// </summary>
internal sealed class SwitchboardHostedService(IMessageBus bus) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (bus is SwitchboardBus root)
        {
            await root.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        TimeSpan timeout = bus is SwitchboardBus root ? root.Runtime.Options.ShutdownTimeout : TimeSpan.FromSeconds(30);
        Task<ShutdownReport> shutdown = bus.ShutdownAsync(timeout).AsTask();

        // The host's own shutdown timeout wins: stop waiting (the bus keeps draining until its own timeout).
        await ((Task)shutdown.WaitAsync(cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
