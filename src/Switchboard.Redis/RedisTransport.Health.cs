namespace Switchboard.Redis;

/// <summary>The transport's health check, registered by <c>services.AddHealthChecks().AddSwitchboard()</c>.</summary>
public sealed partial class RedisTransport : IHealthCheckSource
{
    /// <inheritdoc />
    public IReadOnlyList<ComponentHealthCheck> GetHealthChecks() => [new("transport:redis", new RedisHealthCheck(this), ["transport", "redis"])];
}
