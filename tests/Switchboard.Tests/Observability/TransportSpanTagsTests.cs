using System.Diagnostics;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Observability;

public sealed record TagPing(string Id);

/// <summary>A received message that implements <see cref="ReceivedMessage.TransportTags"/> puts its own tags on the consumer's receive span.</summary>
[Collection(nameof(ObservabilityCollection))]
public sealed class TransportSpanTagsTests
{
    [Fact]
    public async Task ReceiveSpan_CarriesTheReceivedMessagesOwnTags_AfterTheConsumersOwn()
    {
        string destination = $"tags-{Guid.NewGuid():N}";
        TaskCompletionSource<Activity> stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using ActivityListener listener = new()
        {
            ShouldListenTo = source => source.Name == SwitchboardDiagnostics.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.DisplayName == $"receive {destination}")
                {
                    stopped.TrySetResult(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using InMemoryTransport inner = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(new TaggingTransport(inner))
            .RouteToTransport<TagPing>(destination)
            .Handle<TagPing>(_ => { }));

        await bus.PublishAsync(new TagPing("p-1"));
        Activity span = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("broker-x", span.GetTagItem("messaging.system")); // refines the consumer's own value
        Assert.Equal("physical-queue-7", span.GetTagItem("messaging.destination.name"));
        Assert.Equal("42", span.GetTagItem("broker.x.offset"));
        Assert.Equal(1, span.GetTagItem("messaging.message.delivery_count")); // the consumer's tags that were not refined stay
    }

    /// <summary>The in-memory transport, its received messages describing themselves as a broker "x" would.</summary>
    private sealed class TaggingTransport(ITransport inner) : ITransport
    {
        public string Name => inner.Name;

        public TransportCapabilities Capabilities => inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => inner.SendAsync(message, cancellationToken);

        public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
            => new Receiver(await inner.CreateReceiverAsync(options, cancellationToken));

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => default;

        private sealed class Receiver(ITransportReceiver receiver) : ITransportReceiver
        {
            public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken) => new Tagged(await receiver.ReceiveAsync(cancellationToken));

            public ValueTask DisposeAsync() => receiver.DisposeAsync();
        }

        private sealed class Tagged(ReceivedMessage received) : ReceivedMessage(received.Message, received.DeliveryCount)
        {
            public override IReadOnlyList<KeyValuePair<string, object?>> TransportTags =>
            [
                new("messaging.system", "broker-x"),
                new("messaging.destination.name", "physical-queue-7"),
                new("broker.x.offset", "42"),
            ];

            public override ValueTask AckAsync(CancellationToken cancellationToken) => received.AckAsync(cancellationToken);

            public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => received.RetryAsync(delay, cancellationToken);

            public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken) => received.DeadLetterAsync(reason, cancellationToken);
        }
    }
}
