using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Outbox.Tests.Sqlite;

/// <summary>What the outbox tells its operators: statistics, the health check, metrics, spans; and how a host provides it.</summary>
public sealed class OutboxObservabilityTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly TemporaryDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task HealthCheck_IsHealthyWhenEmpty_DegradedWhenTheBacklogGrows_AndWhenRowsAreDead()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<ObservedEvent>(_ => { })
            .UseSqliteOutbox(_database.ConnectionString, o => { o.RunDispatcher = false; o.HealthyBacklog = 2; }));
        IOutbox outbox = bus.GetOutbox();
        OutboxHealthCheck check = new(outbox);

        HealthCheckResult empty = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, empty.Status);

        await WriteAsync(outbox, 3);
        HealthCheckResult backlog = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, backlog.Status);
        Assert.Contains("3 pending", backlog.Description, StringComparison.Ordinal);
        Assert.Equal(3L, backlog.Data["pending"]);

        Assert.Equal(3, await outbox.ProcessAsync());
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        await using (SqliteConnection connection = new(_database.ConnectionString))
        {
            await connection.OpenAsync();
            await using SqliteTransaction transaction = connection.BeginTransaction();
            await outbox.Store.AddAsync(transaction, [new Transport.TransportMessage
            {
                Destination = OutboxRows.LocalDestination,
                Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "bad", [MessageHeaders.MessageType] = "unknown.type" },
                Body = "{}"u8.ToArray(),
            }]);
            await transaction.CommitAsync();
        }

        await outbox.ProcessAsync();
        HealthCheckResult dead = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, dead.Status);
        Assert.Contains("1 dead", dead.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_IsUnhealthyWhenTheDatabaseCannotBeOpened_WithoutNamingIt()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"switchboard-secret-dir-{Guid.NewGuid():N}", "app.db");
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<ObservedEvent>(_ => { })
            .UseSqliteOutbox($"Data Source={missing};Mode=ReadWrite", o => { o.CreateSchema = false; o.RunDispatcher = false; }));

        HealthCheckResult result = await new OutboxHealthCheck(bus.GetOutbox()).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.DoesNotContain("switchboard-secret-dir", result.Description, StringComparison.Ordinal);
        Assert.Null(result.Exception);
    }

    [Fact]
    public async Task Metrics_RecordTheDispatchLatency_AndThePendingCount()
    {
        // The meter is global and other tests dispatch at the same time: only this bus's measurements count.
        string name = $"metrics-{Guid.NewGuid():N}";
        ConcurrentBag<double> latencies = [];
        ConcurrentDictionary<string, long> pending = new();
        using MeterListener listener = new();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName && instrument.Name.StartsWith("switchboard.outbox.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "switchboard.outbox.dispatch.latency")
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == "switchboard.bus" && (string?)tag.Value == name)
                    {
                        latencies.Add(value);
                    }
                }
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "switchboard.outbox.pending")
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == "switchboard.bus")
                    {
                        pending[(string)tag.Value!] = value;
                    }
                }
            }
        });
        listener.Start();
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = name)
            .Handle<ObservedEvent>(_ => { })
            .UseSqliteOutbox(_database.ConnectionString, o => o.RunDispatcher = false));
        IOutbox outbox = bus.GetOutbox();

        await WriteAsync(outbox, 2);
        Assert.Equal(2, (await outbox.GetStatisticsAsync()).Pending);
        listener.RecordObservableInstruments();
        Assert.Equal(2L, pending[name]);

        Assert.Equal(2, await outbox.ProcessAsync());
        Assert.Equal(2, latencies.Count);
        Assert.All(latencies, l => Assert.InRange(l, 0, Patience.TotalSeconds));
        OutboxStatistics statistics = await outbox.GetStatisticsAsync();
        Assert.Equal(2, statistics.Added);
        Assert.Equal(2, statistics.Dispatched);
        Assert.Equal(0, statistics.Pending);
        listener.RecordObservableInstruments();
        Assert.Equal(0L, pending[name]);
    }

    [Fact]
    public async Task Dispatch_IsTracedAsAChildOfTheSpanThatWroteTheRow_AndLinkedToIt()
    {
        ConcurrentBag<Activity> stopped = [];
        using ActivityListener listener = new()
        {
            ShouldListenTo = source => source.Name is SwitchboardDiagnostics.SourceName or "outbox-test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using ActivitySource app = new("outbox-test");
        TaskCompletionSource<string?> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<ObservedEvent>(_ => handled.TrySetResult(Activity.Current?.TraceId.ToString()))
            .UseSqliteOutbox(_database.ConnectionString));

        ActivityContext writer;
        using (Activity placing = app.StartActivity("place order")!)
        {
            writer = placing.Context;
            await WriteAsync(bus.GetOutbox(), 1);
        }

        string? handlerTrace = await handled.Task.WaitAsync(Patience);
        // The listener is process-wide and other tests dispatch at the same time: take the dispatch span of this trace (none
        // is found, and the wait fails, when the dispatch does not continue the writer's trace).
        Activity dispatch = await WaitForAsync(() => stopped.FirstOrDefault(a => a.DisplayName.StartsWith("dispatch ", StringComparison.Ordinal) && a.TraceId == writer.TraceId));
        Assert.Equal(writer.SpanId, dispatch.ParentSpanId);
        Assert.Contains(dispatch.Links, link => link.Context.SpanId == writer.SpanId);
        Assert.Equal(ActivityKind.Producer, dispatch.Kind);
        Assert.Equal(writer.TraceId.ToString(), handlerTrace);
    }

    [Fact]
    public async Task WithAHost_IOutboxResolves_TheDispatcherRunsAsAHostedService_AndTheHealthCheckRegisters()
    {
        TaskCompletionSource handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddSwitchboard(b => b
            .Handle<ObservedEvent>(_ => handled.TrySetResult())
            .UseSqliteOutbox(_database.ConnectionString));
        builder.Services.AddHealthChecks().AddCheck<OutboxHealthCheck>("outbox");
        using IHost host = builder.Build();
        await host.StartAsync();

        IOutbox outbox = host.Services.GetRequiredService<IOutbox>();
        Assert.Same(host.Services.GetRequiredService<IMessageBus>().GetOutbox(), outbox);
        await WriteAsync(outbox, 1);
        await handled.Task.WaitAsync(Patience);
        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries["outbox"].Status);

        await host.StopAsync();
    }

    [Fact]
    public async Task GetOutbox_OnABusWithoutOne_SaysHowToConfigureIt()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ObservedEvent>(_ => { }));

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => bus.GetOutbox());
        Assert.Contains("UseSqliteOutbox", error.Message, StringComparison.Ordinal);
        Assert.Null(bus.TryGetOutbox());
    }

    private async Task WriteAsync(IOutbox outbox, int count)
    {
        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        await using SqliteTransaction transaction = connection.BeginTransaction();
        for (int i = 0; i < count; i++)
        {
            await outbox.PublishAsync(transaction, new ObservedEvent(i));
        }

        await transaction.CommitAsync();
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe)
        where T : class
    {
        using CancellationTokenSource timeout = new(Patience);
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(10, timeout.Token);
        }
    }
}

public sealed record ObservedEvent(int N);
