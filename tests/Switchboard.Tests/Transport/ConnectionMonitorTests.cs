using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Transport;

namespace Switchboard.Tests.Transport;

public sealed class ConnectionMonitorTests
{
    [Fact]
    public void Outage_IsCountedOnceOnTheSharedInstruments_TaggedWithTheSystem()
    {
        string system = "test-" + Guid.NewGuid().ToString("N");
        long failures = 0, restorations = 0;
        using MeterListener listener = new();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName && instrument.Name.StartsWith("switchboard.connection.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "messaging.system" && Equals(tag.Value, system))
                {
                    if (instrument.Name == ConnectionMonitor.FailuresInstrument)
                    {
                        Interlocked.Add(ref failures, value);
                    }
                    else if (instrument.Name == ConnectionMonitor.RestorationsInstrument)
                    {
                        Interlocked.Add(ref restorations, value);
                    }
                }
            }
        });
        listener.Start();
        ConnectionMonitor monitor = new(system);

        Assert.True(monitor.IsConnected);
        Assert.False(monitor.ReportRestored()); // nothing to restore
        Assert.True(monitor.ReportLost(new IOException("host secret-host:1234 refused")));
        Assert.False(monitor.ReportLost(new TimeoutException())); // the same outage
        Assert.False(monitor.IsConnected);
        Assert.Equal("TimeoutException", monitor.LastFailure);
        Assert.True(monitor.ReportRestored());
        Assert.False(monitor.ReportRestored());

        Assert.True(monitor.IsConnected);
        Assert.Equal(1, monitor.Outages);
        Assert.Equal(1, Interlocked.Read(ref failures));
        Assert.Equal(1, Interlocked.Read(ref restorations));
    }

    [Fact]
    public async Task HealthCheck_DuringAnOutage_IsUnhealthyWithItsDuration_WithoutTheCausesMessage()
    {
        SteppedClock clock = new();
        ConnectionMonitor monitor = new("broker", clock);
        int probes = 0;
        ConnectionHealthCheck check = new(monitor, _ => { probes++; return Task.FromResult("answers"); });

        monitor.ReportLost(new IOException("password=hunter2"));
        clock.Now += TimeSpan.FromSeconds(12);
        HealthCheckResult down = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Contains("12 s", down.Description, StringComparison.Ordinal);
        Assert.Contains("IOException", down.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", down.Description, StringComparison.Ordinal);
        Assert.Equal(0, probes); // no probe while the client says the connection is down

        monitor.ReportRestored();
        HealthCheckResult up = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, up.Status);
        Assert.Equal("answers", up.Description);
        Assert.Equal(1L, up.Data["outages"]);
    }

    [Fact]
    public async Task HealthCheck_WhenTheProbeStalls_IsUnhealthyWithinTheProbeTimeout()
    {
        ConnectionMonitor monitor = new("broker");
        ConnectionHealthCheck check = new(monitor, async ct => { await Task.Delay(Timeout.Infinite, ct); return "never"; }, TimeSpan.FromMilliseconds(50));

        HealthCheckResult result = await check.CheckHealthAsync(new HealthCheckContext()).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("did not answer within", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_WhenTheProbeThrows_ReportsTheTypeOnly_AndTheRegistrationsFailureStatus()
    {
        ConnectionHealthCheck check = new(new ConnectionMonitor("broker"), _ => throw new InvalidOperationException("amqp://user:secret@host"));
        HealthCheckContext context = new()
        {
            Registration = new HealthCheckRegistration("broker", new ConnectionHealthCheck(new ConnectionMonitor("x"), _ => Task.FromResult("")), HealthStatus.Degraded, null),
        };

        HealthCheckResult result = await check.CheckHealthAsync(context);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("InvalidOperationException", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", result.Description, StringComparison.Ordinal);
    }

    private sealed class SteppedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
