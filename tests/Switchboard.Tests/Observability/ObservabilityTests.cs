using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Observability;

public sealed record ObsPing(int N);
public sealed record ObsQuestion(int N) : IRequest<int>;
public sealed record ObsDoomed(int N) : IRequest<int>;

public static class ObsHandlers
{
    public static void First(ObsPing ping)
    {
    }

    public static void Second(ObsPing ping)
    {
    }

    public static void Fails(ObsPing ping) => throw new InvalidOperationException($"ping {ping.N} failed");
}

/// <summary>ActivitySource and Meter listeners are process-wide: these tests run alone, and still filter by bus name.</summary>
[CollectionDefinition(nameof(ObservabilityCollection), DisableParallelization = true)]
public sealed class ObservabilityCollection;

[Collection(nameof(ObservabilityCollection))]
public sealed class ObservabilityTests : IDisposable
{
    private static readonly string PingName = typeof(ObsPing).FullName!;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public ObservabilityTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SwitchboardDiagnostics.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private List<Activity> SpansOf(string busName)
        => [.. _stopped.Where(a => Equals(a.GetTagItem("switchboard.bus"), busName))];

    private static string UniqueBusName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public void The_activity_source_and_the_meter_are_named_Switchboard()
    {
        Assert.Equal("Switchboard", SwitchboardDiagnostics.SourceName);
        Assert.Equal("Switchboard", SwitchboardDiagnostics.MeterName);
    }

    [Fact]
    public async Task Publish_creates_a_producer_span_and_a_consumer_span_per_handler_with_messaging_tags()
    {
        string name = UniqueBusName("obs-publish");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Handle<ObsPing>(ObsHandlers.First);
            b.Handle<ObsPing>(ObsHandlers.Second);
        });

        await bus.PublishAsync(new ObsPing(1));

        List<Activity> spans = SpansOf(name);
        Activity publish = Assert.Single(spans, s => s.DisplayName == $"publish {PingName}");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal("switchboard", publish.GetTagItem("messaging.system"));
        Assert.Equal("publish", publish.GetTagItem("messaging.operation.name"));
        Assert.Equal(PingName, publish.GetTagItem("messaging.destination.name"));

        List<Activity> process = [.. spans.Where(s => s.DisplayName == $"process {PingName}")];
        Assert.Equal(2, process.Count);
        Assert.All(process, span =>
        {
            Assert.Equal(ActivityKind.Consumer, span.Kind);
            Assert.Equal("switchboard", span.GetTagItem("messaging.system"));
            Assert.Equal("process", span.GetTagItem("messaging.operation.name"));
            Assert.Equal("process", span.GetTagItem("messaging.operation.type"));
            Assert.Equal(PingName, span.GetTagItem("messaging.destination.name"));
            Assert.Equal(publish.TraceId, span.TraceId);
            Assert.Equal(publish.SpanId, span.ParentSpanId);
            Assert.Equal(ActivityStatusCode.Unset, span.Status);
        });
        Assert.Equal(
            ["ObsHandlers.First", "ObsHandlers.Second"],
            process.Select(s => (string)s.GetTagItem("switchboard.handler")!).Order());
    }

    [Fact]
    public async Task A_failing_handler_span_has_error_status_and_error_type()
    {
        string name = UniqueBusName("obs-error");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Handle<ObsPing>(ObsHandlers.First);
            b.Handle<ObsPing>(ObsHandlers.Fails);
        });

        await bus.PublishAsync(new ObsPing(7));

        List<Activity> spans = SpansOf(name);
        Activity failed = Assert.Single(spans, s => Equals(s.GetTagItem("switchboard.handler"), "ObsHandlers.Fails"));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("ping 7 failed", failed.StatusDescription);
        Assert.Equal(typeof(InvalidOperationException).FullName, failed.GetTagItem("error.type"));
        Activity succeeded = Assert.Single(spans, s => Equals(s.GetTagItem("switchboard.handler"), "ObsHandlers.First"));
        Assert.Equal(ActivityStatusCode.Unset, succeeded.Status);
        Activity publish = Assert.Single(spans, s => s.Kind == ActivityKind.Producer);
        Assert.Equal(ActivityStatusCode.Error, publish.Status);
    }

    [Fact]
    public async Task A_request_handler_gets_a_process_span()
    {
        string name = UniqueBusName("obs-request");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Handle<ObsQuestion, int>(q => q.N + 1);
        });

        Assert.Equal(2, await bus.RequestAsync(new ObsQuestion(1)));

        Activity process = Assert.Single(SpansOf(name));
        Assert.Equal($"process {typeof(ObsQuestion).FullName}", process.DisplayName);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
    }

    [Fact]
    public async Task A_topic_publish_creates_a_producer_span_named_after_the_topic()
    {
        string name = UniqueBusName("obs-topic");
        await using IMessageBus bus = MessageBus.Create(b => b.Options.Name = name);
        using Subscription sub = bus.Subscribe("obs/*", _ => throw new InvalidOperationException("subscriber failed"));

        await bus.PublishAsync("obs/created", new { Id = 1 });

        Activity publish = Assert.Single(SpansOf(name));
        Assert.Equal("publish obs/created", publish.DisplayName);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityStatusCode.Error, publish.Status);
    }

    [Fact]
    public async Task ExecuteAsync_traces_send_receive_and_process_in_one_trace()
    {
        string name = UniqueBusName("obs-execute");
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Handle<ObsQuestion, int>(q => q.N * 2);
        });

        Assert.Equal(8, await bus.ExecuteAsync(new ObsQuestion(4)));
        await bus.ShutdownAsync(TimeSpan.FromSeconds(5));

        List<Activity> all = [.. _stopped];
        Activity send = Assert.Single(SpansOf(name), s => s.DisplayName == $"send {name}");
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal("inmemory", send.GetTagItem("messaging.system"));
        Assert.NotNull(send.GetTagItem("messaging.message.id"));
        Activity receive = Assert.Single(all, s => s.DisplayName == $"receive {name}");
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal(send.TraceId, receive.TraceId);
        Assert.Equal(send.SpanId, receive.ParentSpanId);
        Assert.Equal("inmemory", receive.GetTagItem("messaging.system"));
        Assert.Equal(1, receive.GetTagItem("messaging.message.delivery_count"));
        Activity process = Assert.Single(SpansOf(name), s => s.DisplayName == $"process {typeof(ObsQuestion).FullName}");
        Assert.Equal(receive.SpanId, process.ParentSpanId);
    }

    [Fact]
    public async Task With_tracing_disabled_the_bus_creates_no_spans()
    {
        string traced = UniqueBusName("obs-traced");
        string untraced = UniqueBusName("obs-untraced");
        await using IMessageBus on = MessageBus.Create(b =>
        {
            b.Options.Name = traced;
            b.Handle<ObsPing>(ObsHandlers.First);
        });
        await using IMessageBus off = MessageBus.Create(b =>
        {
            b.Options.Name = untraced;
            b.Options.EnableTracing = false;
            b.Handle<ObsPing>(ObsHandlers.First);
            b.Handle<ObsPing>(ObsHandlers.Fails);
            b.Handle<ObsQuestion, int>(q => q.N);
        });

        await on.PublishAsync(new ObsPing(1));
        await off.PublishAsync(new ObsPing(1));
        await off.RequestAsync(new ObsQuestion(1));
        await off.ExecuteAsync(new ObsQuestion(1));
        await off.ShutdownAsync(TimeSpan.FromSeconds(5));

        Assert.NotEmpty(SpansOf(traced));
        Assert.Empty(SpansOf(untraced));
        Assert.DoesNotContain(_stopped, s => s.DisplayName == $"receive {untraced}");
    }

    [Fact]
    public async Task The_process_duration_histogram_is_recorded_per_handler()
    {
        string name = UniqueBusName("obs-metrics");
        ConcurrentQueue<(double Seconds, string? Destination, string? Handler)> durations = new();
        ConcurrentQueue<(long Value, string? ErrorType, string? Destination)> errors = new();
        using MeterListener meters = new()
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName &&
                    instrument.Name is "messaging.process.duration" or "switchboard.handler.errors")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            durations.Enqueue((value, Tag(tags, "messaging.destination.name"), Tag(tags, "switchboard.handler"))));
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            errors.Enqueue((value, Tag(tags, "error.type"), Tag(tags, "messaging.destination.name"))));
        meters.Start();

        // A unique message type per run is not possible, so count only this bus's handlers by their names.
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Handle<ObsPing>(ObsHandlers.Second);
            b.Handle<ObsPing>(ObsHandlers.Fails);
        });

        await bus.PublishAsync(new ObsPing(1));
        await bus.PublishAsync(new ObsPing(2));

        Assert.Equal(2, durations.Count(d => d.Destination == PingName && d.Handler == "ObsHandlers.Second"));
        Assert.Equal(2, durations.Count(d => d.Destination == PingName && d.Handler == "ObsHandlers.Fails"));
        Assert.All(durations, d => Assert.True(d.Seconds >= 0));
        Assert.Equal(2, errors.Where(e => e.Destination == PingName && e.ErrorType == typeof(InvalidOperationException).FullName).Sum(e => e.Value));

        static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == key)
                {
                    return tag.Value as string;
                }
            }

            return null;
        }
    }

    [Fact]
    public async Task Transport_sends_receipts_retries_and_dead_letters_are_counted_as_metrics_and_logged()
    {
        ConcurrentDictionary<string, long> totals = new();
        using MeterListener meters = new()
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName && instrument is Counter<long>)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        ConcurrentDictionary<string, long> deadLetteredBySystem = new();
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            totals.AddOrUpdate(instrument.Name, value, (_, total) => total + value);
            if (instrument.Name == "switchboard.deadlettered.messages")
            {
                string? system = null;
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    system = tag.Key == "messaging.system" ? tag.Value as string : system;
                }

                deadLetteredBySystem.AddOrUpdate(system ?? "(none)", value, (_, total) => total + value);
            }
        });
        meters.Start();
        CapturingLoggerProvider captured = new();
        using ILoggerFactory loggers = LoggerFactory.Create(l => l.AddProvider(captured).SetMinimumLevel(LogLevel.Trace));
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = UniqueBusName("obs-transport");
            b.Options.Retry.MaxAttempts = 2;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(1);
            b.Options.Retry.Jitter = false;
            b.UseLoggerFactory(loggers);
            b.Handle<ObsDoomed, int>(d => throw new InvalidOperationException("doomed"));
        });

        await Assert.ThrowsAsync<HandlerFailedException>(async () => await bus.ExecuteAsync(new ObsDoomed(1), new ExecuteOptions { Timeout = TimeSpan.FromSeconds(5) }));

        Assert.True(totals.GetValueOrDefault("messaging.client.sent.messages") >= 1);
        Assert.True(totals.GetValueOrDefault("messaging.client.consumed.messages") >= 2);
        Assert.True(totals.GetValueOrDefault("switchboard.retried.messages") >= 1);
        Assert.True(totals.GetValueOrDefault("switchboard.deadlettered.messages") >= 1);
        // Tagged with the transport, as docs/observability.md says (outbox rows parked dead say messaging.system=outbox).
        Assert.True(deadLetteredBySystem.GetValueOrDefault("inmemory") >= 1, $"dead letters by messaging.system: {string.Join(", ", deadLetteredBySystem)}");
        Assert.Contains(captured.Entries, e => e.Level == LogLevel.Warning && e.Exception is InvalidOperationException { Message: "doomed" });
        Assert.Contains(captured.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("dead-lettered", StringComparison.Ordinal) && e.Message.Contains("doomed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_handler_is_logged_as_an_error_with_its_exception()
    {
        CapturingLoggerProvider captured = new();
        using ILoggerFactory loggers = LoggerFactory.Create(l => l.AddProvider(captured).SetMinimumLevel(LogLevel.Trace));
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseLoggerFactory(loggers);
            b.Handle<ObsPing>(ObsHandlers.Fails);
        });

        await bus.PublishAsync(new ObsPing(3));

        CapturedLog error = Assert.Single(captured.Entries, e => e.Level == LogLevel.Error);
        Assert.Equal("Switchboard", error.Category);
        Assert.IsType<InvalidOperationException>(error.Exception);
        Assert.Contains("ObsHandlers.Fails", error.Message, StringComparison.Ordinal);
        Assert.Contains(PingName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shutdown_that_times_out_is_logged_as_a_warning()
    {
        CapturingLoggerProvider captured = new();
        using ILoggerFactory loggers = LoggerFactory.Create(l => l.AddProvider(captured).SetMinimumLevel(LogLevel.Trace));
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseLoggerFactory(loggers);
            b.Handle<ObsPing>(async (p, ct) => await release.Task);
        });
        Task publish = bus.PublishAsync(new ObsPing(1)).AsTask();

        try
        {
            await bus.ShutdownAsync(TimeSpan.FromMilliseconds(100));
        }
        finally
        {
            release.SetResult();
        }

        await publish;
        Assert.Contains(captured.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("timed out", StringComparison.Ordinal));
    }

    private sealed record CapturedLog(string Category, LogLevel Level, string Message, Exception? Exception);

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<CapturedLog> _entries = new();

        public IReadOnlyList<CapturedLog> Entries => [.. _entries];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<CapturedLog> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => entries.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception), exception));
        }
    }
}
