using Microsoft.Extensions.Hosting;

namespace Switchboard.Hosting;

/// <summary>Runs a <see cref="BusService"/> with the host: started when the host starts, stopped (its subscriptions removed) when it stops.</summary>
internal sealed class BusServiceHostedService<TService>(TService service) : IHostedService
    where TService : BusService
{
    public Task StartAsync(CancellationToken cancellationToken) => service.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => service.StopAsync(cancellationToken);
}
