using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;
using Switchboard.RabbitMQ;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.RabbitMQ;

public sealed record RmqQuote(string Sku) : IRequest<RmqQuoted>;
public sealed record RmqQuoted(string Sku, long Cents);

/// <summary>What only the RabbitMQ transport does: options, unroutable sends, the delay queue, broker dead letters, quorum queues, health.</summary>
public sealed class RabbitMqTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _exchange = RabbitMqServer.NewExchange();
    private readonly List<RabbitMqTransport> _transports = [];
    private readonly List<string> _queues = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        List<string> queues = [.. _transports.SelectMany(t => t.DeclaredQueues), .. _queues];
        foreach (RabbitMqTransport transport in _transports)
        {
            await transport.DisposeAsync();
        }

        await RabbitMqServer.DeleteAsync(_exchange, queues);
    }

    private RabbitMqTransportOptions Options() => new() { Uri = RabbitMqServer.Uri, ExchangeName = _exchange };

    private RabbitMqTransport Transport(RabbitMqTransportOptions? options = null)
    {
        RabbitMqTransport transport = new(options ?? Options());
        _transports.Add(transport);
        return transport;
    }

    [Fact]
    public void Options_WithoutUri_AreRefusedWithAClearMessage()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions()));
        Assert.Contains("Uri is required", ex.Message);
    }

    [Fact]
    public void InvalidOptions_NeverQuoteTheUri()
    {
        ArgumentException scheme = Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions { Uri = new Uri("http://admin:s3cret-value@127.0.0.1/") }));
        Assert.DoesNotContain("s3cret-value", scheme.ToString());
        ArgumentException prefetch = Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions { Uri = new Uri("amqp://admin:s3cret-value@127.0.0.1/"), Prefetch = 0 }));
        Assert.Contains("Prefetch", prefetch.Message);
        Assert.DoesNotContain("s3cret-value", prefetch.ToString());
        Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = " " }));
        Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, PublishChannelPoolSize = 0 }));
        Assert.Throws<ArgumentException>(() => new RabbitMqTransport(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeType = (RabbitMqExchangeType)7 }));
    }

    [Fact]
    public async Task UnreachableBroker_FailsTheSendWithoutTheCredentials_AndTheHealthCheckIsUnhealthy()
    {
        RabbitMqTransport transport = Transport(new RabbitMqTransportOptions { Uri = new Uri("amqp://admin:s3cret-value@127.0.0.1:1/"), ExchangeName = _exchange });

        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await transport.SendAsync(Message("nowhere", "{}"), CancellationToken.None));
        Assert.Contains("unreachable", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.Message);
        HealthCheckResult health = await new RabbitMqHealthCheck(transport).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.DoesNotContain("s3cret-value", health.Description);
    }

    [Fact]
    public async Task HealthCheck_WithTheBrokerUp_IsHealthy()
    {
        HealthCheckResult health = await new RabbitMqHealthCheck(Transport()).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public async Task Send_WhenNoQueueIsBound_FailsAsUnroutable()
    {
        RabbitMqTransport transport = Transport();

        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await transport.SendAsync(Message("unbound", "{}"), CancellationToken.None));

        Assert.Contains("unroutable", ex.Message);
        Assert.Contains("'unbound'", ex.Message);
        // The pooled channel is still usable: a routable send after it is confirmed.
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("bound", "g", "c"), CancellationToken.None);
        await transport.SendAsync(Message("bound", "{}"), CancellationToken.None);
        using CancellationTokenSource cts = new(Patience);
        await (await receiver.ReceiveAsync(cts.Token)).AckAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ConcurrentSends_ShareOneChannel_EachCompletesOnItsOwnConfirm_AndAReturnFailsOnlyItsSend()
    {
        RabbitMqTransport transport = Transport(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = _exchange, PublishChannelPoolSize = 1 });
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("shared", "g", "c"), CancellationToken.None);

        // 200 sends at once on one channel, every tenth one unroutable: only those fail, each with its own message id.
        TransportMessage[] messages = [.. Enumerable.Range(0, 200).Select(i => Message(i % 10 == 9 ? "unbound-shared" : "shared", $"{{\"i\":{i}}}"))];
        Task[] sends = [.. messages.Select(m => Task.Run(async () => await transport.SendAsync(m, CancellationToken.None)))];
        try
        {
            await Task.WhenAll(sends);
        }
        catch (InvalidOperationException)
        {
            // Inspected one by one below.
        }

        for (int i = 0; i < messages.Length; i++)
        {
            if (messages[i].Destination == "unbound-shared")
            {
                InvalidOperationException ex = Assert.IsType<InvalidOperationException>(sends[i].Exception?.InnerException);
                Assert.Contains("unroutable", ex.Message);
                Assert.Contains(messages[i].MessageId, ex.Message);
            }
            else
            {
                Assert.True(sends[i].IsCompletedSuccessfully, $"send {i}: {sends[i].Exception?.InnerException?.Message}");
            }
        }

        // Every confirmed message is in the queue.
        HashSet<string> expected = [.. messages.Where(m => m.Destination == "shared").Select(m => m.MessageId)];
        using CancellationTokenSource cts = new(Patience);
        while (expected.Count > 0)
        {
            ReceivedMessage received = await receiver.ReceiveAsync(cts.Token);
            Assert.True(expected.Remove(received.Message.MessageId));
            await received.AckAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task SharedChannel_ClosedByTheBroker_FailsTheSend_AndIsReplacedForTheNextOne()
    {
        // Without topology creation, a send to an exchange that does not exist makes the broker close the channel (404).
        string missing = RabbitMqServer.NewExchange();
        RabbitMqTransport transport = Transport(new RabbitMqTransportOptions { Uri = RabbitMqServer.Uri, ExchangeName = missing, CreateTopology = false, PublishChannelPoolSize = 1 });
        await Assert.ThrowsAnyAsync<Exception>(async () => await transport.SendAsync(Message("late", "{}"), CancellationToken.None));

        IConnection connection = await transport.GetConnectionAsync();
        string queue = "late." + missing;
        _queues.Add(queue);
        await using (IChannel setup = await connection.CreateChannelAsync())
        {
            await setup.ExchangeDeclareAsync(missing, ExchangeType.Topic, durable: true);
            await setup.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
            await setup.QueueBindAsync(queue, missing, "late");
        }

        try
        {
            await transport.SendAsync(Message("late", "{}"), CancellationToken.None);
        }
        finally
        {
            await RabbitMqServer.DeleteAsync(missing, []);
        }
    }

    [Fact]
    public async Task Retry_WaitsInTheDelayQueue_ThenComesBackToTheSameGroupOnly_WithTheCountIncreased()
    {
        RabbitMqTransport transport = Transport();
        await using ITransportReceiver billing = await transport.CreateReceiverAsync(new ReceiverOptions("delayed", "billing", "c1"), CancellationToken.None);
        await using ITransportReceiver audit = await transport.CreateReceiverAsync(new ReceiverOptions("delayed", "audit", "c1"), CancellationToken.None);
        TransportMessage sent = Message("delayed", "{\"id\":\"r-1\"}");
        await transport.SendAsync(sent, CancellationToken.None);
        using CancellationTokenSource cts = new(Patience);
        await (await audit.ReceiveAsync(cts.Token)).AckAsync(CancellationToken.None);

        ReceivedMessage first = await billing.ReceiveAsync(cts.Token);
        Stopwatch waited = Stopwatch.StartNew();
        await first.RetryAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None);
        ReceivedMessage second = await billing.ReceiveAsync(cts.Token);
        waited.Stop();

        Assert.Equal(sent.MessageId, second.Message.MessageId);
        Assert.Equal(sent.Body.ToArray(), second.Message.Body.ToArray());
        Assert.Equal("delayed", second.Message.Destination);
        Assert.Equal(2, second.DeliveryCount);
        Assert.True(waited.Elapsed >= TimeSpan.FromMilliseconds(250), $"redelivered after {waited.Elapsed.TotalMilliseconds} ms");
        await second.AckAsync(CancellationToken.None);
        using CancellationTokenSource quiet = new(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await audit.ReceiveAsync(quiet.Token));
    }

    [Fact]
    public async Task MessageRejectedToTheBroker_LandsInTheGroupsDeadLetterQueue_WithTheBrokersReason()
    {
        RabbitMqTransport transport = Transport();
        await using (await transport.CreateReceiverAsync(new ReceiverOptions("rejected", "billing", "c1"), CancellationToken.None))
        {
            // Declares the queues; the receiver leaves again before anything is sent.
        }

        await transport.SendAsync(Message("rejected", "{\"id\":\"x\"}"), CancellationToken.None);
        IConnection connection = await transport.GetConnectionAsync();
        await using (IChannel raw = await connection.CreateChannelAsync())
        {
            BasicGetResult? got = null;
            for (int i = 0; i < 500 && got is null; i++)
            {
                got = await raw.BasicGetAsync("rejected.billing", autoAck: false);
                if (got is null)
                {
                    await Task.Delay(10);
                }
            }

            Assert.NotNull(got);
            await raw.BasicRejectAsync(got.DeliveryTag, requeue: false);
        }

        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("rejected", "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Contains("rejected", dead.Reason.Reason);
        Assert.Equal("billing", dead.ConsumerGroup);
        Assert.Contains("\"x\"", Encoding.UTF8.GetString(dead.Message.Body.Span));
        Assert.Equal(1, await dlq.CountAsync());
    }

    [Fact]
    public async Task QuorumQueue_RedeliversAnAbandonedMessage_WithTheBrokersDeliveryCount()
    {
        RabbitMqTransportOptions options = Options();
        options.QuorumQueues = true;
        RabbitMqTransport transport = Transport(options);
        ITransportReceiver dying = await transport.CreateReceiverAsync(new ReceiverOptions("quorum", "workers", "dying"), CancellationToken.None);
        TransportMessage sent = Message("quorum", "{}");
        await transport.SendAsync(sent, CancellationToken.None);
        using CancellationTokenSource cts = new(Patience);
        Assert.Equal(1, (await dying.ReceiveAsync(cts.Token)).DeliveryCount);
        await dying.DisposeAsync();

        await using ITransportReceiver survivor = await transport.CreateReceiverAsync(new ReceiverOptions("quorum", "workers", "survivor"), CancellationToken.None);
        ReceivedMessage again = await survivor.ReceiveAsync(cts.Token);

        Assert.Equal(sent.MessageId, again.Message.MessageId);
        Assert.Equal(2, again.DeliveryCount);
        await again.AckAsync(CancellationToken.None);
    }

    [Fact]
    public async Task UseRabbitMq_CarriesRequestsBetweenTwoBuses_AndCountsTheSends()
    {
        InMemoryResponseStore responses = new();
        string destination = _exchange + "-quotes";
        // The buses' own transports declared these (and the pricing bus's queue for work sent to it by name).
        foreach (string queue in new[] { $"{destination}.pricing", "pricing.pricing" })
        {
            _queues.AddRange([queue, queue + ".delay", queue + ".dlq"]);
        }

        await using IMessageBus pricing = MessageBus.Create(b => b
            .Configure(o => o.Name = "pricing")
            .UseRabbitMq(Options())
            .UseResponseStore(responses)
            .RouteToTransport<RmqQuote>(destination)
            .Handle<RmqQuote, RmqQuoted>(q => new RmqQuoted(q.Sku, 990)));
        await using IMessageBus web = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseRabbitMq(Options())
            .UseResponseStore(responses)
            .RouteToTransport<RmqQuote>(destination));
        await ((Switchboard.Bus.SwitchboardBus)pricing).EnsureStartedAsync(CancellationToken.None);

        RmqQuoted quote = await web.RequestAsync(new RmqQuote("sku-7"), new RequestOptions { Timeout = Patience });

        Assert.Equal(new RmqQuoted("sku-7", 990), quote);
        Assert.Equal(1, web.GetStatistics().Transports["rabbitmq"].Sent);
    }

    private static TransportMessage Message(string destination, string body)
        => new()
        {
            Destination = destination,
            Headers = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N"),
                [MessageHeaders.ContentType] = "application/json",
            },
            Body = Encoding.UTF8.GetBytes(body),
        };
}
