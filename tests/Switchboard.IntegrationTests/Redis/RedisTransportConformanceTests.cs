using Switchboard.Redis;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Redis;

/// <summary>
/// The shared transport suite against a real Redis: every bus of a test has its own connection (as separate processes
/// would), all under one key prefix unique to the test; crashed consumers' messages are reclaimed after 1 s.
/// </summary>
public sealed class RedisTransportConformanceTests : TransportConformanceTests
{
    private readonly string _prefix = RedisServer.NewPrefix();

    protected override TransportCapabilities ExpectedCapabilities => TransportCapabilities.Durable;

    protected override TimeSpan RedeliveryTimeout => TimeSpan.FromSeconds(10);

    protected override ValueTask<ITransport> CreateTransportAsync()
        => new(new RedisTransport(new RedisTransportOptions
        {
            ConnectionString = RedisServer.ConnectionString,
            StreamPrefix = _prefix,
            BatchSize = 8,
            BlockTime = TimeSpan.FromMilliseconds(50),
            ClaimMinIdleTime = TimeSpan.FromSeconds(1),
        }));

    protected override IResponseStore CreateResponseStore(ITransport transport)
        => new RedisResponseStore((RedisTransport)transport, _prefix + ":response:");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await RedisServer.DeleteKeysAsync(_prefix);
    }
}
