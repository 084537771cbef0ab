using System.Collections.Concurrent;

namespace Switchboard.Tests.Routing;

public interface IBoxed
{
    int Id { get; }
}

public sealed record Boxed<T>(int Id) : IBoxed;

/// <summary>
/// Routes of message types first seen at run time (no handler registered for exactly their type): computed once, then
/// found by type handle like the registered ones, for up to 256 types and in the dictionary beyond.
/// </summary>
public sealed class LateRouteTests
{
    [Fact]
    public async Task Events_of_hundreds_of_types_first_seen_at_run_time_each_reach_the_handler_of_their_interface_every_time()
    {
        ConcurrentDictionary<Type, int> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<IBoxed>(e => seen.AddOrUpdate(e.GetType(), 1, (_, n) => n + 1)));

        List<Type> types = [];
        for (int pass = 0; pass < 2; pass++)
        {
            // 15 × 20 = 300 types, more than the 256 kept in the late table, so both lookups are exercised.
            types.Clear();
            await PublishNestedAsync<int>(bus, 20, types);
            await PublishNestedAsync<long>(bus, 20, types);
            await PublishNestedAsync<short>(bus, 20, types);
            await PublishNestedAsync<byte>(bus, 20, types);
            await PublishNestedAsync<char>(bus, 20, types);
            await PublishNestedAsync<bool>(bus, 20, types);
            await PublishNestedAsync<float>(bus, 20, types);
            await PublishNestedAsync<double>(bus, 20, types);
            await PublishNestedAsync<decimal>(bus, 20, types);
            await PublishNestedAsync<string>(bus, 20, types);
            await PublishNestedAsync<object>(bus, 20, types);
            await PublishNestedAsync<Guid>(bus, 20, types);
            await PublishNestedAsync<DateTime>(bus, 20, types);
            await PublishNestedAsync<TimeSpan>(bus, 20, types);
            await PublishNestedAsync<Uri>(bus, 20, types);
        }

        Assert.Equal(300, types.Distinct().Count());
        Assert.All(types, type => Assert.Equal(2, seen[type]));
        Assert.Equal(300, seen.Count);
        Assert.Equal(600, bus.GetStatistics().EventsPublished);
        Assert.Equal(600, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task A_stream_of_a_type_without_handlers_receives_it_after_its_route_was_cached()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await bus.PublishAsync(new Boxed<Version>(1)); // nobody listens yet: the route is computed and cached without subscribers
        await using EventStream<Boxed<Version>> stream = bus.Stream<Boxed<Version>>();

        await bus.PublishAsync(new Boxed<Version>(2));
        await bus.PublishAsync(new Boxed<Version>(3));

        await using IAsyncEnumerator<Boxed<Version>> reader = stream.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal(2, reader.Current.Id);
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal(3, reader.Current.Id);
    }

    private static async ValueTask PublishNestedAsync<T>(IMessageBus bus, int depth, List<Type> types)
    {
        await bus.PublishAsync(new Boxed<T>(types.Count));
        types.Add(typeof(Boxed<T>));
        if (depth > 1)
        {
            await PublishNestedAsync<Boxed<T>>(bus, depth - 1, types);
        }
    }
}
