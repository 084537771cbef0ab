using Switchboard.AmazonSqs;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The shared transport suite against the SQS emulator: every bus of a test has its own transport and SQS client (as
/// separate processes would), all under a queue-name prefix unique to the test; the queues are deleted afterwards. The buses
/// of a test share one in-memory response store (SQS holds no responses).
/// </summary>
public sealed class SqsTransportConformanceTests : TransportConformanceTests
{
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly InMemoryResponseStore _responses = new();

    protected override TransportCapabilities ExpectedCapabilities =>
        TransportCapabilities.Durable | TransportCapabilities.NativeDelay | TransportCapabilities.LeaseExtension | TransportCapabilities.NativeDeadLetter;

    protected override ValueTask<ITransport> CreateTransportAsync() => new(new SqsTransport(SqsServer.Options(_prefix)));

    protected override IResponseStore CreateResponseStore(ITransport transport) => _responses;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await SqsServer.DeleteQueuesAsync(_prefix);
    }
}

/// <summary>The same suite on FIFO queues: MessageGroupId from the partition key, MessageDeduplicationId from the message id.</summary>
public sealed class SqsFifoTransportConformanceTests : TransportConformanceTests
{
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly InMemoryResponseStore _responses = new();

    protected override TransportCapabilities ExpectedCapabilities =>
        TransportCapabilities.Durable | TransportCapabilities.NativeDelay | TransportCapabilities.LeaseExtension | TransportCapabilities.NativeDeadLetter
        | TransportCapabilities.OrderingByKey;

    protected override ValueTask<ITransport> CreateTransportAsync()
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.Fifo = true;
        return new(new SqsTransport(options));
    }

    protected override IResponseStore CreateResponseStore(ITransport transport) => _responses;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await SqsServer.DeleteQueuesAsync(_prefix);
    }
}
