using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Observability;

/// <summary>
/// <c>IHealthCheckSource</c>: a transport (or store) of any package reports its checks through it, and
/// <c>AddHealthChecks().AddSwitchboard()</c> registers them with the bus's name prefix and tags.
/// </summary>
public sealed class HealthCheckSourceTests
{
    [Fact]
    public async Task TheInMemoryBus_HasNothingToCheck()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.Empty(bus.GetHealthChecks());
    }

    [Fact]
    public async Task ATransportThatReportsChecks_HasThemRegistered_WithThePrefixAndTags()
    {
        await using ReportingTransport transport = new(HealthStatus.Degraded);
        ServiceCollection services = new();
        services.AddLogging();
        services.AddSwitchboard(b => b.UseTransport(transport));
        services.AddHealthChecks().AddSwitchboard(tags: ["ready", "switchboard"], timeout: TimeSpan.FromSeconds(3));
        await using ServiceProvider provider = services.BuildServiceProvider();

        HealthReport report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        HealthReportEntry entry = Assert.Single(report.Entries, e => e.Key == "switchboard:transport:custom").Value;
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal("custom says degraded", entry.Description);
        Assert.Equal(["switchboard", "transport", "custom", "ready"], entry.Tags);
        Assert.Equal(2, report.Entries.Count);
        Assert.Equal(["custom"], report.Entries["switchboard:transport:custom:second"].Tags.Except(["switchboard", "transport", "ready"]));
    }

    [Fact]
    public async Task WithoutABus_AddSwitchboardFailsClearly()
    {
        ServiceCollection services = new();
        services.AddLogging();
        services.AddHealthChecks().AddSwitchboard();
        await using ServiceProvider provider = services.BuildServiceProvider();

        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<HealthCheckService>());
        Assert.Contains("services.AddSwitchboard", ex.Message);
    }

    [Fact]
    public void ComponentHealthCheck_RefusesAnEmptyName()
    {
        Assert.Throws<ArgumentException>(() => new ComponentHealthCheck(" ", new FixedCheck(HealthStatus.Healthy), []));
    }

    /// <summary>A transport from "another package": the in-memory one, reporting two checks of its own.</summary>
    private sealed class ReportingTransport(HealthStatus status) : ITransport, IHealthCheckSource
    {
        private readonly InMemoryTransport _inner = new();

        public string Name => "custom";

        public TransportCapabilities Capabilities => _inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);

        public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken) => _inner.CreateReceiverAsync(options, cancellationToken);

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public IReadOnlyList<ComponentHealthCheck> GetHealthChecks() =>
        [
            new("transport:custom", new FixedCheck(status), ["transport", "custom"]),
            new("transport:custom:second", new FixedCheck(HealthStatus.Healthy), ["transport", "custom"]),
            new("transport:custom", new FixedCheck(HealthStatus.Unhealthy), ["duplicate"]), // a name given twice counts once
        ];

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    private sealed class FixedCheck(HealthStatus status) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(new HealthCheckResult(status, $"custom says {status.ToString().ToLowerInvariant()}"));
    }
}
