using Switchboard.Testing;

namespace Switchboard.Tests.Testing;

public sealed record SyncA(int N);
public sealed record SyncB(int N);
public sealed record SyncC(int N);
public abstract record SyncBase;
public sealed record SyncDerived(int N) : SyncBase;

public sealed class EventSynchronizerTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public void The_default_timeout_is_five_seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), EventSynchronizer.DefaultTimeout);
    }

    [Fact]
    public async Task An_event_published_after_creation_but_before_the_wait_is_found()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncA(1));

        Assert.Equal(new SyncA(1), await sync.WaitForEventAsync<SyncA>(Patience));
    }

    [Fact]
    public async Task An_event_published_before_creation_is_not_recorded()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await bus.PublishAsync(new SyncA(1));
        using EventSynchronizer sync = new(bus);

        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync<SyncA>(Short));
        Assert.Empty(sync.Events);
    }

    [Fact]
    public async Task A_wait_started_before_the_publish_completes_when_the_event_arrives()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);
        Task<SyncA> waiting = sync.WaitForEventAsync<SyncA>(Patience);
        Assert.False(waiting.IsCompleted);

        await bus.PublishAsync(new SyncB(1));
        Assert.False(waiting.IsCompleted);
        await bus.PublishAsync(new SyncA(2));

        Assert.Equal(new SyncA(2), await waiting);
    }

    [Fact]
    public async Task A_wait_for_a_base_type_matches_a_derived_event()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncDerived(1));

        Assert.Equal(new SyncDerived(1), await sync.WaitForEventAsync<SyncBase>(Patience));
    }

    [Fact]
    public async Task A_background_publish_is_waited_for_without_sleeping()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncA(1), PublishOptions.InBackground);

        Assert.Equal(new SyncA(1), await sync.WaitForEventAsync<SyncA>(Patience));
    }

    [Fact]
    public async Task A_wait_by_topic_returns_the_topic_message_with_its_payload()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync("orders/created", new SyncA(5));

        TopicMessage message = await sync.WaitForEventAsync("orders/created", Patience);
        Assert.Equal("orders/created", message.Topic);
        Assert.Equal(new SyncA(5), message.As<SyncA>());
    }

    [Theory]
    [InlineData("orders/*")]
    [InlineData("orders/#")]
    [InlineData("#")]
    public async Task A_wait_by_topic_pattern_matches_a_published_topic(string pattern)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync("orders/shipped", new { Id = 1 });

        Assert.Equal("orders/shipped", (await sync.WaitForEventAsync(pattern, Patience)).Topic);
    }

    [Fact]
    public async Task A_wait_by_topic_pattern_does_not_match_another_topic()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync("orders/eu/shipped", new { Id = 1 });
        await bus.PublishAsync("payments/received", new { Id = 1 });

        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync("orders/*", Short));
        Assert.Equal("orders/eu/shipped", (await sync.WaitForEventAsync("orders/#", Patience)).Topic);
    }

    [Fact]
    public async Task Typed_waits_and_topic_waits_do_not_match_each_other_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync("orders/created", new SyncA(1));

        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync<SyncA>(Short));
        await bus.PublishAsync(new SyncA(2));
        Assert.Equal(new SyncA(2), await sync.WaitForEventAsync<SyncA>(Patience));
    }

    [Fact]
    public async Task Several_events_are_found_in_any_order_and_returned_in_the_order_asked()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncC(3));
        await bus.PublishAsync(new SyncA(1));
        await bus.PublishAsync(new SyncB(2));

        IReadOnlyList<object> found = await sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncB), typeof(SyncC)], timeout: Patience);
        Assert.Equal([new SyncA(1), new SyncB(2), new SyncC(3)], found);
    }

    [Fact]
    public async Task Several_events_in_order_are_found_when_published_in_that_order()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncA(1));
        await bus.PublishAsync(new SyncC(0));
        await bus.PublishAsync(new SyncB(2));

        IReadOnlyList<object> found = await sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncB)], inOrder: true, timeout: Patience);
        Assert.Equal([new SyncA(1), new SyncB(2)], found);
    }

    [Fact]
    public async Task Several_events_in_order_time_out_when_published_in_another_order()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncB(2));
        await bus.PublishAsync(new SyncA(1));

        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(
            () => sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncB)], inOrder: true, timeout: Short));
        Assert.Contains("SyncA then SyncB", error.Message, StringComparison.Ordinal);

        // Any order is satisfied by the same events: the failed wait claimed nothing.
        Assert.Equal(2, (await sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncB)], timeout: Patience)).Count);
    }

    [Fact]
    public async Task Several_topics_in_order_are_found()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync("orders/created", 1);
        await bus.PublishAsync("orders/paid", 2);

        IReadOnlyList<TopicMessage> found = await sync.WaitForEventsAsync(["orders/created", "orders/paid"], inOrder: true, timeout: Patience);
        Assert.Equal(["orders/created", "orders/paid"], found.Select(m => m.Topic));
        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventsAsync(["orders/#"], timeout: Short));
    }

    [Fact]
    public async Task Each_event_satisfies_one_wait_and_the_next_wait_gets_the_next_event()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);
        await bus.PublishAsync(new SyncA(1));

        Assert.Equal(new SyncA(1), await sync.WaitForEventAsync<SyncA>(Patience));
        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync<SyncA>(Short));

        Task<SyncA> next = sync.WaitForEventAsync<SyncA>(Patience);
        await bus.PublishAsync(new SyncA(2));
        Assert.Equal(new SyncA(2), await next);
    }

    [Fact]
    public async Task Two_concurrent_waits_for_one_type_need_two_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);
        Task<SyncA> first = sync.WaitForEventAsync<SyncA>(Patience);
        Task<SyncA> second = sync.WaitForEventAsync<SyncA>(Patience);

        await bus.PublishAsync(new SyncA(1));
        Task<SyncA> done = await Task.WhenAny(first, second).WaitAsync(Patience);
        Assert.Equal(new SyncA(1), await done);
        Assert.False((done == first ? second : first).IsCompleted, "one event must complete exactly one wait");
        await bus.PublishAsync(new SyncA(2));

        Assert.Equal([1, 2], (await Task.WhenAll(first, second)).Select(a => a.N).Order());
    }

    [Fact]
    public async Task A_type_listed_twice_needs_two_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);
        await bus.PublishAsync(new SyncA(1));

        await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncA)], timeout: Short));
        await bus.PublishAsync(new SyncA(2));

        Assert.Equal([new SyncA(1), new SyncA(2)], await sync.WaitForEventsAsync([typeof(SyncA), typeof(SyncA)], timeout: Patience));
    }

    [Fact]
    public async Task A_timeout_message_lists_what_was_waited_for_and_what_was_seen()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);
        await bus.PublishAsync(new SyncA(1));
        await bus.PublishAsync("orders/created", new { Id = 1 });

        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync<SyncC>(Short));

        Assert.Contains("SyncC", error.Message, StringComparison.Ordinal);
        Assert.Contains("saw: SyncA, topic 'orders/created'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timeout_with_nothing_seen_says_so()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(() => sync.WaitForEventAsync("orders/created", Short));

        Assert.Contains("topic 'orders/created'", error.Message, StringComparison.Ordinal);
        Assert.Contains("saw: nothing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_lists_every_recorded_event_in_order()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await bus.PublishAsync(new SyncA(1));
        await bus.PublishAsync("x/y", 2);
        await bus.PublishAsync(new SyncB(3));

        Assert.Collection(
            sync.Events,
            e => Assert.Equal(new SyncA(1), e),
            e => Assert.Equal("x/y", Assert.IsType<TopicMessage>(e).Topic),
            e => Assert.Equal(new SyncB(3), e));
    }

    [Fact]
    public async Task A_disposed_synchronizer_stops_recording()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventSynchronizer sync = new(bus);
        sync.Dispose();

        await bus.PublishAsync(new SyncA(1));
        await bus.PublishAsync("x/y", 2);

        Assert.Empty(sync.Events);
        Assert.Equal(0, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task Waiting_for_nothing_is_rejected()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        using EventSynchronizer sync = new(bus);

        await Assert.ThrowsAsync<ArgumentException>(() => sync.WaitForEventsAsync(Array.Empty<Type>()));
    }
}
