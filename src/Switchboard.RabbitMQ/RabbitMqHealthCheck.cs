using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;
using Switchboard.Transport;

namespace Switchboard.RabbitMQ;

/// <summary>
/// Reports whether the broker behind a <see cref="RabbitMqTransport"/> is reachable: unhealthy while the transport's
/// <see cref="RabbitMqTransport.ConnectionMonitor"/> reports an outage, or when opening and closing a channel does not
/// succeed within <see cref="RabbitMqTransportOptions.HealthCheckTimeout"/> (the core <see cref="ConnectionHealthCheck"/>).
/// The URI is never reported.
/// </summary>
public sealed class RabbitMqHealthCheck : IHealthCheck
{
    private readonly ConnectionHealthCheck _check;

    /// <summary>Creates the check.</summary>
    /// <param name="transport">The transport to check.</param>
    public RabbitMqHealthCheck(RabbitMqTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _check = new ConnectionHealthCheck(transport.ConnectionMonitor, ct => ProbeAsync(transport, ct), transport.Options.HealthCheckTimeout);
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => _check.CheckHealthAsync(context, cancellationToken);

    private static async Task<string> ProbeAsync(RabbitMqTransport transport, CancellationToken cancellationToken)
    {
        IConnection connection = await transport.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!connection.IsOpen)
        {
            throw new InvalidOperationException("The connection is closed; the client is recovering it.");
        }

        // A round trip: a connection that looks open on a stalled network answers nothing.
        IChannel channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await RabbitMqTransport.CloseQuietlyAsync(channel).ConfigureAwait(false);
        return "RabbitMQ connection is open and answers.";
    }
}
