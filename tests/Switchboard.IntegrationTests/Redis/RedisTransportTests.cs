using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Redis;

public sealed record RtOrderPlaced(string Id);
public sealed record RtQuote(string Sku) : IRequest<RtQuoted>;
public sealed record RtQuoted(string Sku, long Cents);

/// <summary>What only the Redis transport does: options, stream layout, recovery from a lost group, health, stream info.</summary>
public sealed class RedisTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _prefix = RedisServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RedisServer.DeleteKeysAsync(_prefix);

    private RedisTransportOptions Options() => new()
    {
        ConnectionString = RedisServer.ConnectionString,
        StreamPrefix = _prefix,
        BlockTime = TimeSpan.FromMilliseconds(50),
        ClaimMinIdleTime = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public void Options_WithoutConnectionString_AreRefusedWithAClearMessage()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => new RedisTransport(new RedisTransportOptions()));
        Assert.Contains("ConnectionString is required", ex.Message);
    }

    [Fact]
    public void InvalidOptions_NeverQuoteTheConnectionString()
    {
        RedisTransportOptions options = new() { ConnectionString = "127.0.0.1:6399,password=s3cret-value", BatchSize = 0 };
        ArgumentException ex = Assert.Throws<ArgumentException>(() => new RedisTransport(options));
        Assert.Contains("BatchSize", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());
        Assert.Throws<ArgumentException>(() => new RedisTransport(new RedisTransportOptions { ConnectionString = "x", ClaimMinIdleTime = TimeSpan.FromMilliseconds(1) }));
        Assert.Throws<ArgumentException>(() => new RedisTransport(new RedisTransportOptions { ConnectionString = "x", StreamMaxLength = 0 }));
    }

    [Fact]
    public async Task UseRedis_CarriesRequestsBetweenTwoBuses_AndTheBusDisposesTheTransportItCreated()
    {
        await using IMessageBus pricing = MessageBus.Create(b => b
            .Configure(o => o.Name = "pricing")
            .UseRedis(Options())
            .RouteToTransport<RtQuote>()
            .Handle<RtQuote, RtQuoted>(q => new RtQuoted(q.Sku, 990)));
        await using IMessageBus web = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseRedis(Options())
            .RouteToTransport<RtQuote>());
        await ((Switchboard.Bus.SwitchboardBus)pricing).EnsureStartedAsync(CancellationToken.None);

        RtQuoted quote = await web.RequestAsync(new RtQuote("sku-7"), new RequestOptions { Timeout = Patience });

        Assert.Equal(new RtQuoted("sku-7", 990), quote);
        Assert.Equal(1, web.GetStatistics().Transports["redis"].Sent);
    }

    [Fact]
    public async Task Send_WritesOneStreamEntryPerMessage_WithHeadersAndBodyAsFields_AndTrimsWhenAsked()
    {
        RedisTransportOptions options = Options();
        options.StreamMaxLength = 10;
        await using RedisTransport transport = new(options);
        for (int i = 0; i < 300; i++)
        {
            await transport.SendAsync(Message("layout", $"m-{i}"), CancellationToken.None);
        }

        IDatabase db = (await transport.GetConnectionAsync()).GetDatabase();
        StreamEntry last = (await db.StreamRangeAsync($"{_prefix}:layout", "-", "+", count: 1, Order.Descending))[0];
        Assert.Equal("m-299", last["h:" + MessageHeaders.MessageId].ToString());
        Assert.Equal("{}", last["body"].ToString());
        // MAXLEN ~ trims whole macro nodes: approximately, never below the limit.
        long length = await db.StreamLengthAsync($"{_prefix}:layout");
        Assert.InRange(length, 10, 299);
    }

    [Fact]
    public async Task Consumer_WhoseGroupWasDeleted_RecreatesItAndGoesOn()
    {
        ConcurrentDictionary<string, int> handled = new();
        await using RedisTransport transport = new(Options());
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseTransport(transport)
            .RouteToTransport<RtOrderPlaced>("nogroup")
            .Handle<RtOrderPlaced>(e => handled.AddOrUpdate(e.Id, 1, static (_, n) => n + 1)));
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        await bus.PublishAsync(new RtOrderPlaced("before"));
        await WaitAsync(() => handled.ContainsKey("before"));

        // What a Redis restart without its data looks like to a consumer: the stream and its group are gone (NOGROUP).
        IDatabase db = (await transport.GetConnectionAsync()).GetDatabase();
        await db.KeyDeleteAsync($"{_prefix}:nogroup");
        await db.KeyDeleteAsync($"{_prefix}:nogroup:billing:replay");

        // The consumer's next read fails with NOGROUP and it creates the streams and its group again (nothing else creates
        // them: the message below is published only after): wait for that, so the group is recreated before "after" exists.
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await HasGroupAsync(db, $"{_prefix}:nogroup", "billing") || !await HasGroupAsync(db, $"{_prefix}:nogroup:billing:replay", "billing"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the consumer did not recreate its group in time");
            await Task.Delay(10);
        }

        await bus.PublishAsync(new RtOrderPlaced("after"));

        await WaitAsync(() => handled.ContainsKey("after"));
        Assert.Equal(1, handled["after"]);
    }

    [Fact]
    public async Task StreamInfo_ReportsLengthPendingLagAndDeadLetters()
    {
        await using RedisTransport transport = new(Options());
        await transport.SendAsync(Message("info", "i-1"), CancellationToken.None);
        await transport.SendAsync(Message("info", "i-2"), CancellationToken.None);
        ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("info", "g", "c-1"), CancellationToken.None);
        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage first = await receiver.ReceiveAsync(timeout.Token);
        await first.DeadLetterAsync(new DeadLetterReason("test", null, null, 1), CancellationToken.None);
        ReceivedMessage second = await receiver.ReceiveAsync(timeout.Token);

        RedisStreamInfo info = await transport.GetStreamInfoAsync("info", "g");

        Assert.Equal(2, info.Length);
        Assert.Equal(1, info.Pending);
        Assert.Equal(1, info.DeadLetters);
        await second.AckAsync(CancellationToken.None);
        Assert.Equal(0, (await transport.GetStreamInfoAsync("info", "g")).Pending);
        await receiver.DisposeAsync();
    }

    [Fact]
    public async Task HealthCheck_IsHealthyWhenRedisAnswers_AndUnhealthyWithoutNamingTheConnectionString()
    {
        await using RedisTransport up = new(Options());
        await up.GetConnectionAsync();
        HealthCheckResult healthy = await new RedisHealthCheck(up).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, healthy.Status);

        await using RedisTransport down = new(new RedisTransportOptions { ConnectionString = "127.0.0.1:1,password=s3cret-value,connectTimeout=200" });
        HealthCheckResult unhealthy = await new RedisHealthCheck(down).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.DoesNotContain("s3cret-value", unhealthy.Description);
    }

    private static TransportMessage Message(string destination, string id) => new()
    {
        Destination = destination,
        Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = id },
        Body = "{}"u8.ToArray(),
    };

    private static async Task<bool> HasGroupAsync(IDatabase db, string stream, string group)
    {
        if (!await db.KeyExistsAsync(stream))
        {
            return false;
        }

        return (await db.StreamGroupInfoAsync(stream)).Any(g => g.Name == group);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not true in time");
            await Task.Delay(10);
        }
    }
}
