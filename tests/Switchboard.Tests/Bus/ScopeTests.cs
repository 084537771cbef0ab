using Switchboard.Testing;

namespace Switchboard.Tests.Bus;

public sealed record ScopedPing(string From);
public sealed record ScopedPong(string From);
public sealed record ScopedQuestion(int N) : IRequest<int>;

public sealed class ScopeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_scope_is_named_after_its_parent_and_its_own_name()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Options.Name = "app");
        await using IMessageBus scope = bus.CreateScope("subsystem_a");

        Assert.Equal("app/subsystem_a", scope.Name);
    }

    [Fact]
    public async Task A_scope_needs_a_name()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.ThrowsAny<ArgumentException>(() => bus.CreateScope(" "));
        Assert.ThrowsAny<ArgumentException>(() => bus.CreateScope(null!));
    }

    [Fact]
    public async Task Runtime_subscribers_of_a_scope_see_only_the_scope_events_and_the_parent_subscribers_only_the_parent_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus scope = bus.CreateScope("a");
        List<string> parentSeen = [];
        List<string> scopeSeen = [];
        using Subscription parentSub = bus.Subscribe<ScopedPing>(p => parentSeen.Add(p.From));
        using Subscription scopeSub = scope.Subscribe<ScopedPing>(p => scopeSeen.Add(p.From));

        await scope.PublishAsync(new ScopedPing("scope"));
        await bus.PublishAsync(new ScopedPing("parent"));

        Assert.Equal(["scope"], scopeSeen);
        Assert.Equal(["parent"], parentSeen);
    }

    [Fact]
    public async Task Sibling_scopes_do_not_see_each_other_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus a = bus.CreateScope("a");
        await using IMessageBus b = bus.CreateScope("b");
        List<string> aSeen = [];
        List<string> bSeen = [];
        using Subscription aSub = a.Subscribe<ScopedPing>(p => aSeen.Add(p.From));
        using Subscription bSub = b.Subscribe<ScopedPing>(p => bSeen.Add(p.From));

        await a.PublishAsync(new ScopedPing("A"));
        await b.PublishAsync(new ScopedPing("B"));

        Assert.Equal(["A"], aSeen);
        Assert.Equal(["B"], bSeen);
    }

    [Fact]
    public async Task Topic_subscribers_of_a_scope_and_of_its_parent_are_isolated()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus scope = bus.CreateScope("a");
        List<string> parentSeen = [];
        List<string> scopeSeen = [];
        using Subscription parentSub = bus.Subscribe("orders/#", m => parentSeen.Add(m.Topic));
        using Subscription scopeSub = scope.Subscribe("orders/#", m => scopeSeen.Add(m.Topic));

        await scope.PublishAsync("orders/in-scope", new { Id = 1 });
        await bus.PublishAsync("orders/in-parent", new { Id = 2 });

        Assert.Equal(["orders/in-scope"], scopeSeen);
        Assert.Equal(["orders/in-parent"], parentSeen);
    }

    [Fact]
    public async Task Streams_of_a_scope_and_of_its_parent_are_isolated()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus scope = bus.CreateScope("a");
        await using EventStream<ScopedPing> parentStream = bus.Stream<ScopedPing>();
        await using EventStream<ScopedPing> scopeStream = scope.Stream<ScopedPing>();

        await scope.PublishAsync(new ScopedPing("scope"));
        await bus.PublishAsync(new ScopedPing("parent"));

        Assert.Equal(1, scopeStream.Count);
        Assert.Equal(1, parentStream.Count);
        Assert.Equal(new ScopedPing("scope"), await FirstAsync(scopeStream));
        Assert.Equal(new ScopedPing("parent"), await FirstAsync(parentStream));
    }

    [Fact]
    public async Task Subscribers_to_every_event_of_the_parent_do_not_see_the_scope_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus scope = bus.CreateScope("a");
        using EventSynchronizer parentSync = new(bus);
        using EventSynchronizer scopeSync = new(scope);

        await scope.PublishAsync(new ScopedPing("scope"));
        await scope.PublishAsync("x/y", "payload");

        Assert.Equal(new ScopedPing("scope"), await scopeSync.WaitForEventAsync<ScopedPing>(Patience));
        Assert.Empty(parentSync.Events);
    }

    [Fact]
    public async Task Handlers_registered_on_the_builder_serve_every_scope()
    {
        List<string> handled = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ScopedPing>(p => { lock (handled) { handled.Add(p.From); } });
            b.Handle<ScopedQuestion, int>(q => q.N * 2);
        });
        await using IMessageBus scopeA = bus.CreateScope("a");
        await using IMessageBus scopeB = bus.CreateScope("b");

        await bus.PublishAsync(new ScopedPing("parent"));
        await scopeA.PublishAsync(new ScopedPing("a"));
        await scopeB.PublishAsync(new ScopedPing("b"));

        Assert.Equal(["parent", "a", "b"], handled);
        Assert.Equal(42, await scopeA.RequestAsync(new ScopedQuestion(21)));
    }

    [Fact]
    public async Task Messages_cascaded_by_a_builder_handler_in_a_scope_stay_in_that_scope()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
            b.Handle<ScopedPing>((p, context, ct) => context.PublishAsync(new ScopedPong(p.From), ct)));
        await using IMessageBus scope = bus.CreateScope("a");
        List<string> parentPongs = [];
        List<string> scopePongs = [];
        using Subscription parentSub = bus.Subscribe<ScopedPong>(p => parentPongs.Add(p.From));
        using Subscription scopeSub = scope.Subscribe<ScopedPong>(p => scopePongs.Add(p.From));

        await scope.PublishAsync(new ScopedPing("scope"));

        Assert.Equal(["scope"], scopePongs);
        Assert.Empty(parentPongs);
    }

    [Fact]
    public async Task Disposing_a_scope_ends_its_streams_after_their_buffered_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        IMessageBus scope = bus.CreateScope("a");
        EventStream<ScopedPing> stream = scope.Stream<ScopedPing>();
        await scope.PublishAsync(new ScopedPing("one"));

        await scope.DisposeAsync();

        Assert.False(stream.IsActive);
        List<ScopedPing> read = [];
        using CancellationTokenSource cts = new(Patience);
        await foreach (ScopedPing ping in stream.WithCancellation(cts.Token))
        {
            read.Add(ping);
        }

        Assert.Equal([new ScopedPing("one")], read);
    }

    [Fact]
    public async Task Disposing_a_scope_removes_its_subscriptions()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        IMessageBus scope = bus.CreateScope("a");
        Subscription typed = scope.Subscribe<ScopedPing>(_ => { });
        Subscription topic = scope.Subscribe("orders/#", _ => { });
        Subscription all = scope.SubscribeToAll((_, _) => default);

        await scope.DisposeAsync();

        Assert.False(typed.IsActive);
        Assert.False(topic.IsActive);
        Assert.False(all.IsActive);
    }

    [Fact]
    public async Task A_disposed_scope_refuses_messages_while_its_parent_goes_on()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        IMessageBus scope = bus.CreateScope("a");

        await scope.DisposeAsync();

        await Assert.ThrowsAsync<BusStoppedException>(async () => await scope.PublishAsync(new ScopedPing("late")));
        Assert.Throws<BusStoppedException>(() => scope.Subscribe<ScopedPing>(_ => { }));
        int seen = 0;
        using Subscription sub = bus.Subscribe<ScopedPing>(_ => seen++);
        await bus.PublishAsync(new ScopedPing("parent"));
        Assert.Equal(1, seen);
    }

    [Fact]
    public async Task Shutting_down_the_parent_shuts_down_its_scopes_and_ends_their_streams()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        IMessageBus scope = bus.CreateScope("a");
        EventStream<ScopedPing> stream = scope.Stream<ScopedPing>();

        ShutdownReport report = await bus.ShutdownAsync(Patience);

        Assert.True(report.Completed);
        Assert.False(stream.IsActive);
        await Assert.ThrowsAsync<BusStoppedException>(async () => await scope.PublishAsync(new ScopedPing("late")));
    }

    [Fact]
    public async Task A_scope_counts_its_own_statistics_and_its_parent_does_not_count_them()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ScopedPing>(_ => Interlocked.Increment(ref handled)));
        await using IMessageBus scope = bus.CreateScope("a");

        await scope.PublishAsync(new ScopedPing("1"));
        await scope.PublishAsync(new ScopedPing("2"));
        await bus.PublishAsync(new ScopedPing("3"));

        BusStatistics scopeStats = scope.GetStatistics();
        BusStatistics parentStats = bus.GetStatistics();
        Assert.Equal(3, handled);
        Assert.Equal(2, scopeStats.EventsPublished);
        Assert.Equal(2, scopeStats.HandlersInvoked);
        Assert.Equal(1, parentStats.EventsPublished);
        Assert.Equal(1, parentStats.HandlersInvoked);
    }

    [Fact]
    public async Task A_background_publish_in_a_scope_reaches_only_the_scope_subscribers_and_counts_on_the_scope()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus scope = bus.CreateScope("a");
        using EventSynchronizer parentSync = new(bus);
        using EventSynchronizer scopeSync = new(scope);

        await scope.PublishAsync(new ScopedPing("background"), PublishOptions.InBackground);

        Assert.Equal(new ScopedPing("background"), await scopeSync.WaitForEventAsync<ScopedPing>(Patience));
        Assert.Empty(parentSync.Events);
        Assert.Equal(1, scope.GetStatistics().BackgroundTasksCreated);
        Assert.Equal(0, bus.GetStatistics().BackgroundTasksCreated);
    }

    [Fact]
    public async Task A_scope_can_create_a_nested_scope_that_is_isolated_from_it()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using IMessageBus outer = bus.CreateScope("outer");
        await using IMessageBus inner = outer.CreateScope("inner");
        List<string> outerSeen = [];
        using Subscription sub = outer.Subscribe<ScopedPing>(p => outerSeen.Add(p.From));

        await inner.PublishAsync(new ScopedPing("inner"));
        await outer.PublishAsync(new ScopedPing("outer"));

        Assert.Equal($"{bus.Name}/outer/inner", inner.Name);
        Assert.Equal(["outer"], outerSeen);
    }

    private static async Task<T> FirstAsync<T>(EventStream<T> stream)
    {
        using CancellationTokenSource cts = new(Patience);
        await foreach (T item in stream.WithCancellation(cts.Token))
        {
            return item;
        }

        throw new InvalidOperationException("The stream ended empty.");
    }
}
