using Switchboard.Kafka;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// The shared transport suite against the Kafka broker process: every bus of a test has its own transport (its own
/// producer and consumers, as separate processes would), all under one topic prefix unique to the test. Responses go
/// through one in-memory store (Kafka has none).
/// </summary>
public sealed class KafkaTransportConformanceTests : TransportConformanceTests
{
    private readonly string _prefix = KafkaServer.NewPrefix();
    private readonly InMemoryResponseStore _responses = new();
    private bool _topology;

    protected override TransportCapabilities ExpectedCapabilities => TransportCapabilities.Durable | TransportCapabilities.OrderingByKey;

    protected override async ValueTask<ITransport> CreateTransportAsync()
    {
        if (!_topology)
        {
            _topology = true;
            // The abandoned-receiver test needs its one message to reach the receiver that takes it first: with one
            // partition the sticky assignor keeps it with that member until it leaves. An operator would size it so.
            await KafkaServer.CreateTopicAsync(_prefix + Destination("abandoned"), partitions: 1);
        }

        return new KafkaTransport(KafkaServer.Options(_prefix));
    }

    protected override IResponseStore CreateResponseStore(ITransport transport) => _responses;
}
