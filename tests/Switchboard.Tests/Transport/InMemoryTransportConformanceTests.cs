using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

/// <summary>The shared transport suite, run on the in-memory transport: every bus of a test shares one instance.</summary>
public sealed class InMemoryTransportConformanceTests : TransportConformanceTests
{
    private readonly InMemoryTransport _transport = new();
    private readonly InMemoryResponseStore _responses = new();

    protected override TransportCapabilities ExpectedCapabilities => TransportCapabilities.NativeDelay;

    protected override ValueTask<ITransport> CreateTransportAsync() => new(_transport);

    protected override IResponseStore CreateResponseStore(ITransport transport) => _responses;
}
