namespace Switchboard.RabbitMQ;

/// <summary>The transport's health check, registered by <c>services.AddHealthChecks().AddSwitchboard()</c>.</summary>
public sealed partial class RabbitMqTransport : IHealthCheckSource
{
    /// <inheritdoc />
    public IReadOnlyList<ComponentHealthCheck> GetHealthChecks() => [new("transport:rabbitmq", new RabbitMqHealthCheck(this), ["transport", "rabbitmq"])];
}
