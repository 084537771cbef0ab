using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.Kafka;

/// <summary>Reports whether the brokers behind a <see cref="KafkaTransport"/> answer a metadata request. Bootstrap servers and credentials are never reported.</summary>
/// <param name="transport">The transport to check.</param>
public sealed class KafkaHealthCheck(KafkaTransport transport) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        HealthStatus failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        if (transport.IsDisposed)
        {
            return new HealthCheckResult(failure, "The Kafka transport is disposed.");
        }

        try
        {
            bool answered = await Task.Run(() => transport.ProbeBrokers(TimeSpan.FromSeconds(2)), cancellationToken).ConfigureAwait(false);
            if (!answered)
            {
                return new HealthCheckResult(failure, "No Kafka broker answered; the transport keeps reconnecting.");
            }

            // A broker answered: if the clients had lost every broker, the outage is over.
            transport.Health.OnDelivered();
            return HealthCheckResult.Healthy("Kafka brokers answer.");
        }
        catch (KafkaException ex)
        {
            // The error code only: librdkafka's texts can name brokers.
            return new HealthCheckResult(failure, $"Kafka did not answer ({ex.Error.Code}).");
        }
    }
}
