using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard.IntegrationTests.Redis;
using Switchboard.Outbox.Conformance;
using Switchboard.Redis;

namespace Switchboard.IntegrationTests.Observability;

public sealed record OtelOrderPlaced(string Id);
public sealed record OtelMeasured(string Id);

/// <summary>
/// <c>tracing.AddSwitchboardInstrumentation()</c> and <c>metrics.AddSwitchboardInstrumentation()</c> (Switchboard.OpenTelemetry)
/// with OpenTelemetry's SDK and in-memory exporter: one trace across a real Redis hop, and the bus's metrics.
/// </summary>
public sealed class OpenTelemetryTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _prefix = RedisServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RedisServer.DeleteKeysAsync(_prefix);

    private RedisTransportOptions Options() => new()
    {
        ConnectionString = RedisServer.ConnectionString,
        StreamPrefix = _prefix,
        BlockTime = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public async Task Tracing_AcrossRedis_TheConsumersSpansContinueTheProducersTrace()
    {
        List<Activity> exported = [];
        using TracerProvider tracing = Sdk.CreateTracerProviderBuilder()
            .AddSwitchboardInstrumentation()
            .AddInMemoryExporter(exported)
            .Build();
        string destination = _prefix + "-orders";
        TaskCompletionSource<ActivityContext> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Two buses, two connections to Redis: what crosses between them is the stream entry and its headers only.
        await using IMessageBus worker = MessageBus.Create(b => b
            .Configure(o => o.Name = "otel-worker")
            .UseRedis(Options())
            .RouteToTransport<OtelOrderPlaced>(destination)
            .Handle<OtelOrderPlaced>(_ => handled.TrySetResult(Activity.Current?.Context ?? default)));
        await using IMessageBus web = MessageBus.Create(b => b
            .Configure(o => o.Name = "otel-web")
            .UseRedis(Options())
            .RouteToTransport<OtelOrderPlaced>(destination));

        await web.PublishAsync(new OtelOrderPlaced("o-1"));
        ActivityContext inHandler = await handled.Task.WaitAsync(Patience);

        Activity? send = null, receive = null, process = null;
        await Waiting.UntilAsync(
            () =>
            {
                Activity[] spans = [.. Snapshot(exported)];
                send = Array.Find(spans, a => a.Kind == ActivityKind.Producer && a.OperationName == $"send {destination}");
                receive = send is null ? null : Array.Find(spans, a => a.Kind == ActivityKind.Consumer && a.ParentSpanId == send.SpanId);
                process = receive is null ? null : Array.Find(spans, a => a.OperationName == $"process {typeof(OtelOrderPlaced).FullName}" && DescendsFrom(a, receive, spans));
                return process is not null;
            },
            Patience,
            () => $"exported: {string.Join(", ", Snapshot(exported).Select(a => $"{a.Kind} '{a.OperationName}' {a.TraceId}/{a.SpanId} parent {a.ParentSpanId}"))}");

        Assert.Equal("redis", send!.GetTagItem("messaging.system"));
        Assert.Equal(destination, send.GetTagItem("messaging.destination.name"));
        Assert.Equal("otel-web", send.GetTagItem("switchboard.bus"));

        Assert.Equal(send.TraceId, receive!.TraceId);
        Assert.Equal($"receive {destination}", receive.OperationName);
        Assert.Equal("redis", receive.GetTagItem("messaging.system"));
        Assert.Equal("otel-worker", receive.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal(send.GetTagItem("messaging.message.id"), receive.GetTagItem("messaging.message.id"));

        Assert.Equal(send.TraceId, process!.TraceId);
        Assert.Equal(send.TraceId, inHandler.TraceId);
        Assert.Equal(process.SpanId, inHandler.SpanId);
    }

    [Fact]
    public async Task Metrics_HandlerDurations_AreExported_WithBucketsInSeconds()
    {
        List<Metric> exported = [];
        using MeterProvider metrics = Sdk.CreateMeterProviderBuilder()
            .AddSwitchboardInstrumentation()
            .AddInMemoryExporter(exported)
            .Build();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<OtelMeasured>(_ => { }));

        for (int i = 0; i < 5; i++)
        {
            await bus.PublishAsync(new OtelMeasured($"m-{i}"));
        }

        Assert.True(metrics.ForceFlush());
        Metric duration = Assert.Single(exported, m => m.Name == "messaging.process.duration");
        Assert.Equal("s", duration.Unit);
        long count = 0;
        List<double> bounds = [];
        foreach (ref readonly MetricPoint point in duration.GetMetricPoints())
        {
            string? type = null;
            foreach (KeyValuePair<string, object?> tag in point.Tags)
            {
                type = tag.Key == "messaging.destination.name" ? tag.Value as string : type;
            }

            if (type == typeof(OtelMeasured).FullName)
            {
                count += point.GetHistogramCount();
                bounds.Clear();
                foreach (HistogramBucket bucket in point.GetHistogramBuckets())
                {
                    bounds.Add(bucket.ExplicitBound);
                }
            }
        }

        Assert.Equal(5, count);
        Assert.Equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, double.PositiveInfinity], bounds);
    }

    private static bool DescendsFrom(Activity span, Activity ancestor, Activity[] spans)
    {
        for (Activity? current = span; current is not null; current = Array.Find(spans, a => a.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The exporter appends from the threads that end spans: a copy taken meanwhile may hold a slot not yet written.</summary>
    private static List<Activity> Snapshot(List<Activity> exported) => [.. exported.ToArray().Where(a => a is not null)];
}
