using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Observability;

public sealed record TaggedPing(int N);

/// <summary><see cref="ReceivedMessage.TransportTags"/>: what only the transport knows ends up on the consumer's span, for every transport alike.</summary>
[Collection(nameof(ObservabilityCollection))]
public sealed class TransportTagsTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public TransportTagsTests()
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

    [Fact]
    public async Task ReceivedMessageWithTransportTags_TheConsumersSpanCarriesThem()
    {
        string destination = "tagged-" + Guid.NewGuid().ToString("N");
        TaskCompletionSource handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TaggingTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .RouteToTransport<TaggedPing>(destination)
            .Handle<TaggedPing>(_ => handled.TrySetResult()));

        await bus.PublishAsync(new TaggedPing(1));
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Activity span = await SpanAsync(destination);
        Assert.Equal("7", span.GetTagItem("messaging.destination.partition.id"));
        Assert.Equal(42L, span.GetTagItem("messaging.kafka.offset"));
        Assert.Equal("inmemory", span.GetTagItem("messaging.system"));
    }

    [Fact]
    public void ReceivedMessage_HasNoTransportTags_UnlessTheTransportGivesThem()
    {
        Assert.Empty(new Plain(new TransportMessage { Destination = "d", Headers = new Dictionary<string, string>(), Body = Array.Empty<byte>() }).TransportTags);
    }

    /// <summary>The receive span stops just after the handler returns: wait for it (bounded) instead of assuming it.</summary>
    private async Task<Activity> SpanAsync(string destination)
    {
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(10));
        while (true)
        {
            Activity? span = _stopped.FirstOrDefault(a => a.Kind == ActivityKind.Consumer && Equals(a.GetTagItem("messaging.destination.name"), destination));
            if (span is not null)
            {
                return span;
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    private sealed class Plain(TransportMessage message) : ReceivedMessage(message, 1)
    {
        public override ValueTask AckAsync(CancellationToken cancellationToken) => default;

        public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => default;

        public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken) => default;
    }

    /// <summary>The in-memory transport, its deliveries carrying tags as a partitioned log's would.</summary>
    private sealed class TaggingTransport : ITransport
    {
        private readonly InMemoryTransport _inner = new();

        public string Name => _inner.Name;

        public TransportCapabilities Capabilities => _inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);

        public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
            => new Receiver(await _inner.CreateReceiverAsync(options, cancellationToken));

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();

        private sealed class Receiver(ITransportReceiver inner) : ITransportReceiver
        {
            public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
                => new Tagged(await inner.ReceiveAsync(cancellationToken));

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private sealed class Tagged(ReceivedMessage inner) : ReceivedMessage(inner.Message, inner.DeliveryCount)
        {
            public override IReadOnlyList<KeyValuePair<string, object?>> TransportTags =>
                [new("messaging.destination.partition.id", "7"), new("messaging.kafka.offset", 42L)];

            public override ValueTask AckAsync(CancellationToken cancellationToken) => inner.AckAsync(cancellationToken);

            public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => inner.RetryAsync(delay, cancellationToken);

            public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken) => inner.DeadLetterAsync(reason, cancellationToken);
        }
    }
}
