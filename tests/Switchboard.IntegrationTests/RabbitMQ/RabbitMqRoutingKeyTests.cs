using System.Text;
using RabbitMQ.Client;
using Switchboard.RabbitMQ;

namespace Switchboard.IntegrationTests.RabbitMQ;

public sealed record RmqOrderShipped(string OrderId) : DomainEvent;

public sealed record RmqParcelWeighed(string OrderId, int Grams);

/// <summary>Seed 001's routing keys on a topic exchange: <c>{AggregateType}.{EventType}</c> for a domain event.</summary>
public sealed class RabbitMqRoutingKeyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _exchange = RabbitMqServer.NewExchange();
    private readonly List<string> _queues = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RabbitMqServer.DeleteAsync(_exchange, _queues);

    [Fact]
    public async Task DomainEvent_IsPublishedAs_AggregateTypeDotEventType_ReachesItsHandlers_AndAnOutsideBindingOnTheAggregate()
    {
        string shipped = _exchange + "-shipped", weighed = _exchange + "-weighed";
        foreach (string queue in new[] { $"{shipped}.shipping", $"{weighed}.shipping", "shipping.shipping" })
        {
            _queues.AddRange([queue, queue + ".delay", queue + ".dlq"]);
        }

        TaskCompletionSource<RmqOrderShipped> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<RmqParcelWeighed> weighedHandled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "shipping")
            .UseRabbitMq(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = _exchange })
            .RouteToTransport<RmqOrderShipped>(shipped)
            .RouteToTransport<RmqParcelWeighed>(weighed)
            .Handle<RmqOrderShipped>(e => handled.TrySetResult(e))
            .Handle<RmqParcelWeighed>(e => weighedHandled.TrySetResult(e)));
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);

        // Another application listens to everything that happens to orders, by aggregate, as seed 001 allows.
        ConnectionFactory factory = new() { Uri = RabbitMqServer.Uri };
        await using IConnection connection = await factory.CreateConnectionAsync();
        await using IChannel channel = await connection.CreateChannelAsync();
        string audit = _exchange + "-audit";
        _queues.Add(audit);
        await channel.QueueDeclareAsync(audit, durable: false, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(audit, _exchange, "Order.#");

        await bus.PublishAsync(new RmqOrderShipped("ord-9") { AggregateId = "ord-9", AggregateType = "Order" });
        await bus.PublishAsync(new RmqParcelWeighed("ord-9", 1200));

        Assert.Equal("ord-9", (await handled.Task.WaitAsync(Patience)).OrderId);
        Assert.Equal(1200, (await weighedHandled.Task.WaitAsync(Patience)).Grams);
        BasicGetResult? seen = null;
        using CancellationTokenSource deadline = new(Patience);
        while (seen is null)
        {
            seen = await channel.BasicGetAsync(audit, autoAck: true);
            if (seen is null)
            {
                await Task.Delay(20, deadline.Token);
            }
        }

        Assert.Equal($"Order.{shipped}", seen.RoutingKey);
        Assert.Contains("ord-9", Encoding.UTF8.GetString(seen.Body.Span), StringComparison.Ordinal);
        Assert.Equal("Order", Encoding.UTF8.GetString((byte[])seen.BasicProperties.Headers![MessageHeaders.AggregateType]!));
        Assert.Null(await channel.BasicGetAsync(audit, autoAck: true)); // the plain event did not match Order.#
    }

    [Fact]
    public async Task RoutingKey_OnlyTopicExchangesPrefixTheAggregate_AndItIsOneWord()
    {
        Transport.TransportMessage Message(string? aggregateType) => new()
        {
            Destination = "orders.shipped",
            Headers = aggregateType is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [MessageHeaders.AggregateType] = aggregateType },
            Body = ReadOnlyMemory<byte>.Empty,
        };
        RabbitMqTransport Transport(RabbitMqExchangeType type) => new(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = _exchange, ExchangeType = type });

        await using RabbitMqTransport topic = Transport(RabbitMqExchangeType.Topic);
        await using RabbitMqTransport direct = Transport(RabbitMqExchangeType.Direct);
        await using RabbitMqTransport fanout = Transport(RabbitMqExchangeType.Fanout);
        Assert.Equal("Order.orders.shipped", topic.RoutingKey(Message("Order")));
        Assert.Equal("Sales_Order.orders.shipped", topic.RoutingKey(Message("Sales.Order")));
        Assert.Equal("orders.shipped", topic.RoutingKey(Message(null)));
        Assert.Equal("orders.shipped", direct.RoutingKey(Message("Order")));
        Assert.Equal(string.Empty, fanout.RoutingKey(Message("Order")));
    }
}
