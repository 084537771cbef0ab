using Switchboard.RabbitMQ;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.RabbitMQ;

/// <summary>
/// The shared transport suite against a real RabbitMQ: every bus of a test has its own connection (as separate processes
/// would), all on one exchange unique to the test; the exchange and every queue declared are deleted afterwards. The
/// buses of a test share one in-memory response store (they run in one process; RabbitMQ holds no responses).
/// </summary>
public sealed class RabbitMqTransportConformanceTests : TransportConformanceTests
{
    private readonly string _exchange = RabbitMqServer.NewExchange();
    private readonly InMemoryResponseStore _responses = new();
    private readonly List<RabbitMqTransport> _created = [];

    protected override TransportCapabilities ExpectedCapabilities => TransportCapabilities.Durable | TransportCapabilities.NativeDelay;

    protected override ValueTask<ITransport> CreateTransportAsync()
    {
        RabbitMqTransport transport = new(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = _exchange });
        lock (_created)
        {
            _created.Add(transport);
        }

        return new(transport);
    }

    protected override IResponseStore CreateResponseStore(ITransport transport) => _responses;

    public override async Task DisposeAsync()
    {
        List<string> queues;
        lock (_created)
        {
            queues = [.. _created.SelectMany(t => t.DeclaredQueues)];
        }

        await base.DisposeAsync();
        await RabbitMqServer.DeleteAsync(_exchange, queues);
    }
}
