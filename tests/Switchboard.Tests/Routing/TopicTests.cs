namespace Switchboard.Tests.Routing;

// Item 6 of issue 2 on the bus: PublishAsync(topic, payload) reaches every subscriber whose pattern matches.
public sealed class TopicTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record OrderCreated(string OrderId);

    [Fact]
    public async Task PublishAsync_Topic_ReachesAnExactSubscriberWithTopicAndPayload()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<TopicMessage> seen = [];
        using Subscription subscription = bus.Subscribe("orders/created", (TopicMessage m) => seen.Add(m));
        OrderCreated payload = new("o-1");

        await bus.PublishAsync("orders/created", payload);

        TopicMessage message = Assert.Single(seen);
        Assert.Equal("orders/created", message.Topic);
        Assert.Same(payload, message.Payload);
        Assert.Equal("orders/created", subscription.Description);
    }

    [Theory]
    [InlineData("orders/created", "orders/created", true)]
    [InlineData("orders/created", "orders/updated", false)]
    [InlineData("orders/*", "orders/created", true)]
    [InlineData("orders/*", "orders", false)]
    [InlineData("orders/*", "orders/eu/created", false)]
    [InlineData("*/created", "payments/created", true)]
    [InlineData("orders/#", "orders", true)]
    [InlineData("orders/#", "orders/eu/created", true)]
    [InlineData("orders/#", "payments/created", false)]
    [InlineData("#", "anything/at/all", true)]
    public async Task PublishAsync_Topic_ReachesTheSubscriberOnlyWhenThePatternMatches(string pattern, string topic, bool expected)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> seen = [];
        using Subscription subscription = bus.Subscribe(pattern, (TopicMessage m) => seen.Add(m.Topic));

        await bus.PublishAsync(topic, new { Id = 1 });

        Assert.Equal(expected ? [topic] : [], seen);
        Assert.Equal(expected ? 1 : 0, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task PublishAsync_Topic_ReachesEveryMatchingSubscriberInSubscriptionOrder()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> seen = [];
        using Subscription exact = bus.Subscribe("orders/eu/created", (TopicMessage m) => seen.Add("exact"));
        using Subscription star = bus.Subscribe("orders/*/created", (TopicMessage m) => seen.Add("star"));
        using Subscription other = bus.Subscribe("payments/#", (TopicMessage m) => seen.Add("other"));
        using Subscription tail = bus.Subscribe("orders/#", async (TopicMessage m, CancellationToken ct) =>
        {
            await Task.Yield();
            seen.Add("tail");
        });

        await bus.PublishAsync("orders/eu/created", new { Id = 1 });

        Assert.Equal(["exact", "star", "tail"], seen);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.EventsPublished);
        Assert.Equal(3, stats.HandlersInvoked);
    }

    [Fact]
    public async Task PublishAsync_Topic_WithNoSubscriber_CompletesAndCountsTheEvent()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        await bus.PublishAsync("orders/created", new { Id = 1 });

        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.EventsPublished);
        Assert.Equal(0, stats.HandlersInvoked);
    }

    [Fact]
    public async Task Subscribe_AsyncTopicHandler_IsAwaitedAndReceivesTheCallersToken()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using CancellationTokenSource cts = new();
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken received = default;
        bool finished = false;
        using Subscription subscription = bus.Subscribe("orders/created", async (TopicMessage m, CancellationToken ct) =>
        {
            received = ct;
            await gate.Task;
            finished = true;
        });

        ValueTask publishing = bus.PublishAsync("orders/created", new { Id = 1 }, cts.Token);
        Assert.False(publishing.IsCompleted);
        gate.SetResult();
        await publishing.AsTask().WaitAsync(Patience);

        Assert.True(finished);
        Assert.Equal(cts.Token, received);
    }

    [Fact]
    public async Task Dispose_TopicSubscription_StopsDelivery()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> seen = [];
        Subscription subscription = bus.Subscribe("orders/*", (TopicMessage m) => seen.Add(m.Topic));

        await bus.PublishAsync("orders/created", new { Id = 1 });
        subscription.Dispose();
        subscription.Dispose();
        await bus.PublishAsync("orders/updated", new { Id = 2 });

        Assert.Equal(["orders/created"], seen);
        Assert.False(subscription.IsActive);
    }

    [Fact]
    public async Task Subscribe_TopicFromInsideATopicHandler_ReceivesTheNextEvent()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> late = [];
        Subscription? added = null;
        using Subscription adder = bus.Subscribe("a/#", (TopicMessage m) => added ??= bus.Subscribe("a/*", (TopicMessage n) => late.Add(n.Topic)));

        await bus.PublishAsync("a/1", new { });
        await bus.PublishAsync("a/2", new { });

        Assert.Single(late, "a/2");
        added!.Dispose();
        await bus.PublishAsync("a/3", new { });
        Assert.DoesNotContain("a/3", late);
    }

    [Fact]
    public async Task Dispose_TopicSubscriptionFromInsideAnEarlierSubscriber_PreventsItFromRunningForTheSameEvent()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        List<string> seen = [];
        Subscription? victim = null;
        using Subscription killer = bus.Subscribe("a/*", (TopicMessage m) =>
        {
            seen.Add("killer");
            victim!.Dispose();
        });
        victim = bus.Subscribe("a/#", (TopicMessage m) => seen.Add("victim"));

        await bus.PublishAsync("a/1", new { });

        Assert.Equal(["killer"], seen);
    }

    [Theory]
    [InlineData("orders/*")]
    [InlineData("orders/#")]
    [InlineData("*")]
    [InlineData("#")]
    [InlineData("orders*")]
    public async Task PublishAsync_TopicWithAWildcard_ThrowsArgumentExceptionAndReachesNobody(string topic)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        int calls = 0;
        using Subscription subscription = bus.Subscribe("#", (TopicMessage m) => calls++);

        await Assert.ThrowsAsync<ArgumentException>(async () => await bus.PublishAsync(topic, new { Id = 1 }));

        Assert.Equal(0, calls);
        Assert.Equal(0, bus.GetStatistics().EventsPublished);
    }

    [Theory]
    [InlineData("a/#/b")]
    [InlineData("a*")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("")]
    [InlineData(" ")]
    public async Task Subscribe_InvalidPattern_ThrowsArgumentException(string pattern)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.Throws<ArgumentException>(() => bus.Subscribe(pattern, (TopicMessage m) => { }));
        Assert.Throws<ArgumentException>(() => bus.Subscribe(pattern, (TopicMessage m, CancellationToken ct) => default));
    }

    [Fact]
    public async Task PublishAsync_TypedEvent_DoesNotReachTopicSubscribers()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        int calls = 0;
        using Subscription subscription = bus.Subscribe("#", (TopicMessage m) => calls++);

        await bus.PublishAsync(new OrderCreated("o-1"));

        Assert.Equal(0, calls);
    }
}
