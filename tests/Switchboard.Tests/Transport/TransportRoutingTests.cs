using System.Collections.Concurrent;
using Switchboard.Responses;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed record ParcelShipped(string ParcelId);
public sealed record QuotePrice(string Sku) : IRequest<PriceQuoted>;
public sealed record PriceQuoted(string Sku, long Cents);
public sealed record ArchiveParcel(string ParcelId);

public sealed class TransportRoutingTests : IAsyncLifetime
{
    private readonly InMemoryTransport _transport = new();
    private readonly InMemoryResponseStore _responses = new();
    private readonly List<IMessageBus> _buses = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (IMessageBus bus in _buses)
        {
            await bus.DisposeAsync();
        }

        await _transport.DisposeAsync();
    }

    [Fact]
    public async Task RoutedEvent_ReachesEveryServiceOnce_AndCompetingConsumersShareTheWork()
    {
        const int count = 200;
        ConcurrentDictionary<string, int> billing = new();
        ConcurrentDictionary<string, int> shipping = new();
        CountdownEvent done = new(count * 2);

        IMessageBus orders = Service("orders", b => b.RouteToTransport<ParcelShipped>());
        // Two instances of "billing" compete; "shipping" is one instance. Each group sees every event once.
        for (int instance = 0; instance < 2; instance++)
        {
            // A little real work, so that one instance cannot drain the queue before the other takes its share.
            Service("billing", b => b.RouteToTransport<ParcelShipped>().Handle<ParcelShipped>(async (e, ct) =>
            {
                await Task.Delay(1, ct);
                billing.AddOrUpdate(e.ParcelId, 1, (_, n) => n + 1);
                done.Signal();
            }));
        }

        Service("shipping", b => b.RouteToTransport<ParcelShipped>().Handle<ParcelShipped>(e => { shipping.AddOrUpdate(e.ParcelId, 1, (_, n) => n + 1); done.Signal(); }));
        await WaitForConsumersAsync();

        for (int i = 0; i < count; i++)
        {
            await orders.PublishAsync(new ParcelShipped($"p-{i}"));
        }

        Assert.True(done.Wait(TimeSpan.FromSeconds(20)), $"handled {count * 2 - done.CurrentCount} of {count * 2}");
        Assert.Equal(count, billing.Count);
        Assert.Equal(count, shipping.Count);
        Assert.All(billing.Values, n => Assert.Equal(1, n));
        Assert.All(shipping.Values, n => Assert.Equal(1, n));
        Assert.True(_buses[1].GetStatistics().HandlersInvoked > 0 && _buses[2].GetStatistics().HandlersInvoked > 0, "both billing instances took work");
    }

    [Fact]
    public async Task RoutedRequest_IsAnsweredByAnotherBusThroughTheResponseStore()
    {
        IMessageBus client = Service("web", b => b.RouteToTransport<QuotePrice>());
        Service("pricing", b => b.RouteToTransport<QuotePrice>().Handle<QuotePrice, PriceQuoted>(q => new PriceQuoted(q.Sku, 1250)));
        await WaitForConsumersAsync();

        PriceQuoted quote = await client.RequestAsync(new QuotePrice("sku-1"), new RequestOptions { Timeout = TimeSpan.FromSeconds(10) });

        Assert.Equal(new PriceQuoted("sku-1", 1250), quote);
        Assert.Equal(0, client.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task RoutedRequest_WithNoWorker_TimesOutWithAClearMessage()
    {
        IMessageBus client = Service("web", b => b.RouteToTransport<QuotePrice>());

        TimeoutException ex = await Assert.ThrowsAsync<TimeoutException>(
            async () => await client.RequestAsync(new QuotePrice("sku-1"), new RequestOptions { Timeout = TimeSpan.FromMilliseconds(200) }));

        Assert.Contains("QuotePrice", ex.Message);
        Assert.Contains("QuotePrice", ex.Message[ex.Message.IndexOf("consuming", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task RoutedRequest_WhoseHandlerAlwaysFails_ThrowsHandlerFailedException()
    {
        IMessageBus client = Service("web", b => b.RouteToTransport<QuotePrice>());
        Service("pricing", b =>
        {
            b.Options.Retry.MaxAttempts = 2;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(1);
            b.RouteToTransport<QuotePrice>().Handle<QuotePrice, PriceQuoted>(_ => throw new InvalidOperationException("no price list"));
        });
        await WaitForConsumersAsync();

        HandlerFailedException ex = await Assert.ThrowsAsync<HandlerFailedException>(
            async () => await client.RequestAsync(new QuotePrice("sku-1"), new RequestOptions { Timeout = TimeSpan.FromSeconds(10) }));

        Assert.Contains("no price list", ex.Message);
        Assert.Equal(typeof(InvalidOperationException).FullName, ex.RemoteExceptionType);
        Assert.Equal(1, await _transport.GetDeadLetterQueue("Switchboard.Tests.Transport.QuotePrice", "pricing").CountAsync());
    }

    [Fact]
    public async Task RoutedCommand_SendAsyncReturnsWhenConfirmed_AndTheOtherBusHandlesIt()
    {
        TaskCompletionSource<string> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus client = Service("web", b => b.RouteToTransport<ArchiveParcel>("archive"));
        Service("archiver", b => b.RouteToTransport<ArchiveParcel>("archive").Handle<ArchiveParcel>(c => handled.TrySetResult(c.ParcelId)));
        await WaitForConsumersAsync();

        await client.SendAsync(new ArchiveParcel("p-9"));

        Assert.Equal("p-9", await handled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, client.GetStatistics().Transports["inmemory"].Sent);
    }

    [Fact]
    public async Task CascadedEvent_OfARoutedType_GoesThroughTheTransport()
    {
        TaskCompletionSource<string> shipped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus warehouse = Service("warehouse", b =>
        {
            b.RouteToTransport<ParcelShipped>();
            b.Handle<ArchiveParcel>(async (c, context, ct) => await context.PublishAsync(new ParcelShipped(c.ParcelId), ct));
        });
        Service("notifications", b => b.RouteToTransport<ParcelShipped>().Handle<ParcelShipped>(e => shipped.TrySetResult(e.ParcelId)));
        await WaitForConsumersAsync();

        await warehouse.SendAsync(new ArchiveParcel("p-3"));

        Assert.Equal("p-3", await shipped.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task SharedTransport_IsNotDisposedByABusThatDidNotCreateIt()
    {
        IMessageBus first = Service("a", b => b.RouteToTransport<ParcelShipped>());
        await first.ShutdownAsync(TimeSpan.FromSeconds(5));

        TaskCompletionSource received = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus second = Service("b", b => b.RouteToTransport<ParcelShipped>().Handle<ParcelShipped>(_ => received.TrySetResult()));
        await WaitForConsumersAsync();
        await second.PublishAsync(new ParcelShipped("p-1"));

        await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private IMessageBus Service(string name, Action<BusBuilder> configure)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.UseTransport(_transport).UseResponseStore(_responses);
            configure(b);
        });
        _buses.Add(bus);
        return bus;
    }

    // Consumers start in the background when a bus is created; a group created after a publish would still get it
    // (the in-memory transport keeps a backlog for the first group only), so wait for every bus's consumers.
    private async Task WaitForConsumersAsync()
    {
        foreach (IMessageBus bus in _buses)
        {
            await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        }
    }
}
