using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed record TrQuote(string Sku) : IRequest<TrQuoted>;
public sealed record TrQuoted(string Sku, long Cents);
public sealed record TrShipped(string ParcelId);

/// <summary>The bus reads the transport's capabilities when it is built: what the configuration relies on must be there.</summary>
public sealed class TransportRequirementsTests
{
    [Fact]
    public void RequiredCapabilities_MissingOnTheDefaultTransport_FailsTheBuild_NamingTransportAndCapability()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() =>
            MessageBus.Create(b => b.Configure(o => o.RequiredCapabilities = TransportCapabilities.Durable)));

        Assert.Contains("'inmemory'", error.Message, StringComparison.Ordinal);
        Assert.Contains("asks for Durable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequiredCapabilities_NamesOnlyTheMissingOnes()
    {
        await using FakeTransport transport = new(TransportCapabilities.Durable | TransportCapabilities.NativeDelay);
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b => b
            .UseTransport(transport)
            .Configure(o => o.RequiredCapabilities = TransportCapabilities.NativeDelay | TransportCapabilities.OrderingByKey | TransportCapabilities.LeaseExtension)));

        Assert.Contains("'fake'", error.Message, StringComparison.Ordinal);
        Assert.Contains("asks for OrderingByKey, LeaseExtension,", error.Message, StringComparison.Ordinal);
        Assert.Contains("declares Durable, NativeDelay", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequiredCapabilities_AllDeclared_TheBusBuildsAndWorks()
    {
        await using FakeTransport transport = new(TransportCapabilities.Durable | TransportCapabilities.OrderingByKey);
        TaskCompletionSource<TrShipped> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .Configure(o => o.RequiredCapabilities = TransportCapabilities.Durable | TransportCapabilities.OrderingByKey)
            .RouteToTransport<TrShipped>()
            .Handle<TrShipped>(m => seen.TrySetResult(m)));

        await bus.PublishAsync(new TrShipped("p-1"));

        Assert.Equal("p-1", (await seen.Task.WaitAsync(TimeSpan.FromSeconds(30))).ParcelId);
    }

    [Fact]
    public async Task RequestRoutedToATransportBetweenProcesses_WithoutASharedResponseStore_FailsTheBuild()
    {
        await using FakeTransport transport = new(TransportCapabilities.Durable);
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b => b
            .UseTransport(transport)
            .RouteToTransport<TrQuote>()
            .Handle<TrQuote, TrQuoted>(q => new TrQuoted(q.Sku, 100))));

        Assert.Contains("TrQuote", error.Message, StringComparison.Ordinal);
        Assert.Contains("'fake'", error.Message, StringComparison.Ordinal);
        Assert.Contains("TransportCapabilities.Durable", error.Message, StringComparison.Ordinal);
        Assert.Contains("UseResponseStore", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestRoutedToATransportBetweenProcesses_WithAResponseStoreGiven_Builds_AndIsAnswered()
    {
        await using FakeTransport transport = new(TransportCapabilities.Durable);
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .UseResponseStore(new InMemoryResponseStore())
            .RouteToTransport<TrQuote>()
            .Handle<TrQuote, TrQuoted>(q => new TrQuoted(q.Sku, 100)));

        TrQuoted quoted = await bus.RequestAsync(new TrQuote("sku-1"), new RequestOptions { Timeout = TimeSpan.FromSeconds(30) });

        Assert.Equal(new TrQuoted("sku-1", 100), quoted);
    }

    [Fact]
    public async Task RequestRoutedToAnInProcessTransport_OrAnEventToADurableOne_NeedsNoResponseStore()
    {
        await using IMessageBus inProcess = MessageBus.Create(b => b
            .RouteToTransport<TrQuote>()
            .Handle<TrQuote, TrQuoted>(q => new TrQuoted(q.Sku, 7)));
        Assert.Equal(7, (await inProcess.RequestAsync(new TrQuote("a"), new RequestOptions { Timeout = TimeSpan.FromSeconds(30) })).Cents);

        await using FakeTransport transport = new(TransportCapabilities.Durable);
        await using IMessageBus events = MessageBus.Create(b => b.UseTransport(transport).RouteToTransport<TrShipped>().Handle<TrShipped>(_ => { }));
        Assert.NotNull(events);
    }

    private sealed class FakeTransport(TransportCapabilities capabilities) : ITransport
    {
        private readonly InMemoryTransport _inner = new();

        public string Name => "fake";

        public TransportCapabilities Capabilities => capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);

        public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken) => _inner.CreateReceiverAsync(options, cancellationToken);

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }
}
