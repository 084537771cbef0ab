using System.Threading.Channels;

namespace Switchboard.Tests.Streams;

public sealed record Tick(int N);
public sealed record DataRequest(string RequestId, string Query);
public sealed record DataResponse(string RequestId, string Result);
public interface IStreamedShape;
public sealed record Circle(int Radius) : IStreamedShape;

public sealed class EventStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_stream_is_registered_when_created_so_an_event_published_before_enumerating_is_received()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>();

        await bus.PublishAsync(new Tick(1));

        Assert.Equal(1, stream.Count);
        Assert.Equal([new Tick(1)], await ReadAsync(stream, 1));
    }

    [Fact]
    public void The_default_stream_options_hold_1024_events_and_wait_when_full()
    {
        Assert.Equal(1024, StreamOptions.Default.Capacity);
        Assert.Equal(BoundedChannelFullMode.Wait, StreamOptions.Default.FullMode);
        Assert.Equal(BoundedChannelFullMode.Wait, new StreamOptions().FullMode);
    }

    [Fact]
    public async Task Every_stream_of_a_type_receives_every_event_independently()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> first = bus.Stream<Tick>();
        await using EventStream<Tick> second = bus.Stream<Tick>();

        await bus.PublishAsync(new Tick(1));
        await bus.PublishAsync(new Tick(2));

        Assert.Equal([new Tick(1), new Tick(2)], await ReadAsync(first, 2));
        Assert.Equal([new Tick(1), new Tick(2)], await ReadAsync(second, 2));
    }

    [Fact]
    public async Task A_stream_of_an_interface_receives_the_events_that_implement_it()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<IStreamedShape> stream = bus.Stream<IStreamedShape>();

        await bus.PublishAsync(new Circle(3));

        Assert.Equal([new Circle(3)], await ReadAsync(stream, 1));
    }

    [Fact]
    public async Task A_stream_also_receives_events_that_builder_handlers_handle()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Tick>(_ => Interlocked.Increment(ref handled)));
        await using EventStream<Tick> stream = bus.Stream<Tick>();

        await bus.PublishAsync(new Tick(7));

        Assert.Equal(1, handled);
        Assert.Equal([new Tick(7)], await ReadAsync(stream, 1));
    }

    [Fact]
    public async Task DropOldest_drops_the_oldest_buffered_event_when_the_buffer_is_full()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 2, FullMode = BoundedChannelFullMode.DropOldest });

        await PublishTicksWithoutWaitingAsync(bus, 1, 2, 3);

        Assert.Equal(2, stream.Count);
        Assert.Equal([new Tick(2), new Tick(3)], await ReadAsync(stream, 2));
    }

    [Fact]
    public async Task DropNewest_drops_the_newest_buffered_event_to_make_room_for_the_one_published()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 2, FullMode = BoundedChannelFullMode.DropNewest });

        await PublishTicksWithoutWaitingAsync(bus, 1, 2, 3);

        Assert.Equal(2, stream.Count);
        Assert.Equal([new Tick(1), new Tick(3)], await ReadAsync(stream, 2));
    }

    [Fact]
    public async Task DropWrite_drops_the_event_being_published_when_the_buffer_is_full()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 2, FullMode = BoundedChannelFullMode.DropWrite });

        await PublishTicksWithoutWaitingAsync(bus, 1, 2, 3);

        Assert.Equal(2, stream.Count);
        Assert.Equal([new Tick(1), new Tick(2)], await ReadAsync(stream, 2));
    }

    [Fact]
    public async Task Wait_makes_a_publish_to_a_full_stream_wait_until_the_reader_reads()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 1, FullMode = BoundedChannelFullMode.Wait });

        await bus.PublishAsync(new Tick(1)).AsTask().WaitAsync(Patience);
        Task blocked = bus.PublishAsync(new Tick(2)).AsTask();

        Assert.False(blocked.IsCompleted, "a publish to a full stream in Wait mode must wait for the reader");
        Assert.Equal(1, stream.Count);

        await using IAsyncEnumerator<Tick> reader = stream.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Patience));
        Assert.Equal(new Tick(1), reader.Current);

        await blocked.WaitAsync(Patience);
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Patience));
        Assert.Equal(new Tick(2), reader.Current);
    }

    [Fact]
    public async Task Disposing_a_stream_releases_a_publisher_waiting_for_room()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 1 });
        await bus.PublishAsync(new Tick(1));
        Task blocked = bus.PublishAsync(new Tick(2)).AsTask();
        Assert.False(blocked.IsCompleted);

        await stream.DisposeAsync();

        await blocked.WaitAsync(Patience);
        Assert.False(stream.IsActive);
    }

    [Fact]
    public async Task Disposing_a_stream_removes_its_subscription_so_later_events_are_not_buffered()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        Assert.True(stream.IsActive);

        await stream.DisposeAsync();
        long invokedBefore = bus.GetStatistics().HandlersInvoked;
        await bus.PublishAsync(new Tick(1));

        Assert.False(stream.IsActive);
        Assert.Equal(0, stream.Count);
        Assert.Equal(invokedBefore, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task Disposing_a_stream_ends_its_enumeration_after_the_buffered_events()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        await bus.PublishAsync(new Tick(1));
        await bus.PublishAsync(new Tick(2));

        await stream.DisposeAsync();

        Assert.Equal([new Tick(1), new Tick(2)], await ReadToEndAsync(stream));
    }

    [Fact]
    public async Task Breaking_out_of_await_foreach_removes_the_subscription()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        await bus.PublishAsync(new Tick(1));
        await bus.PublishAsync(new Tick(2));

        await foreach (Tick tick in stream)
        {
            Assert.Equal(new Tick(1), tick);
            break;
        }

        Assert.False(stream.IsActive);
        long invokedBefore = bus.GetStatistics().HandlersInvoked;
        await bus.PublishAsync(new Tick(3));
        Assert.Equal(invokedBefore, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task Cancelling_the_enumeration_removes_the_subscription()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        using CancellationTokenSource cts = new();

        Task reading = Task.Run(async () =>
        {
            await foreach (Tick _ in stream.WithCancellation(cts.Token))
            {
            }
        });
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(Patience));
        Assert.False(stream.IsActive);
    }

    [Fact]
    public async Task An_event_published_with_no_subscriber_is_not_seen_by_a_stream_created_afterwards()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await bus.PublishAsync(new Tick(1));

        await using EventStream<Tick> stream = bus.Stream<Tick>();
        Assert.Equal(0, stream.Count);
        await bus.PublishAsync(new Tick(2));

        Assert.Equal([new Tick(2)], await ReadAsync(stream, 1));
        Assert.Equal(0, stream.Count);
    }

    [Fact]
    public async Task An_event_published_after_every_stream_is_gone_is_not_seen_by_the_next_stream()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> gone = bus.Stream<Tick>();
        await gone.DisposeAsync();
        await bus.PublishAsync(new Tick(1));

        await using EventStream<Tick> next = bus.Stream<Tick>();
        await bus.PublishAsync(new Tick(2));

        Assert.Equal(1, next.Count);
        Assert.Equal([new Tick(2)], await ReadAsync(next, 1));
    }

    [Fact]
    public async Task Enumerating_a_stream_twice_throws_InvalidOperationException()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Tick> stream = bus.Stream<Tick>();
        await using IAsyncEnumerator<Tick> first = stream.GetAsyncEnumerator();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => stream.GetAsyncEnumerator());
        Assert.Contains(nameof(Tick), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_with_a_capacity_below_one_is_rejected()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Stream<Tick>(new StreamOptions { Capacity = 0 }));
    }

    [Fact]
    public async Task Bus_shutdown_ends_the_enumeration_after_the_buffered_events()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        await bus.PublishAsync(new Tick(1));
        await bus.PublishAsync(new Tick(2));

        ShutdownReport report = await bus.ShutdownAsync(Patience);

        Assert.True(report.Completed);
        Assert.False(stream.IsActive);
        Assert.Equal([new Tick(1), new Tick(2)], await ReadToEndAsync(stream));
    }

    [Fact]
    public async Task Bus_shutdown_ends_an_enumeration_that_is_waiting_for_events()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        TaskCompletionSource firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<List<Tick>> reading = Task.Run(async () =>
        {
            List<Tick> read = [];
            await foreach (Tick tick in stream)
            {
                read.Add(tick);
                firstRead.TrySetResult();
            }

            return read;
        });
        await bus.PublishAsync(new Tick(1));
        await firstRead.Task.WaitAsync(Patience);

        await bus.ShutdownAsync(Patience);

        Assert.Equal([new Tick(1)], await reading.WaitAsync(Patience));
    }

    [Fact]
    public async Task Shutdown_waits_for_a_publisher_held_by_a_full_stream_until_its_reader_has_read_everything()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 1 });
        await bus.PublishAsync(new Tick(1));
        Task held = bus.PublishAsync(new Tick(2)).AsTask();
        Assert.False(held.IsCompleted);

        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        Assert.False(shutdown.IsCompleted, "shutdown waits for the held publish");
        List<Tick> read = await ReadToEndAsync(stream);

        Assert.Equal([new Tick(1), new Tick(2)], read);
        Assert.True((await shutdown.WaitAsync(Patience)).Completed);
        Assert.True(held.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Subscribe_before_send_request_response_of_seed_003_gets_the_matching_response()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });

        // data_service: answers every request it reads from its stream.
        EventStream<DataRequest> requests = bus.Stream<DataRequest>();
        Task service = Task.Run(async () =>
        {
            await foreach (DataRequest request in requests)
            {
                await bus.PublishAsync(new DataResponse(request.RequestId, $"result of {request.Query}"));
            }
        });

        // make_request: subscribe before sending, then wait for the matching response.
        string result = await MakeRequestAsync(bus, "select 1").WaitAsync(Patience);
        Assert.Equal("result of select 1", result);
        Assert.Equal("result of select 2", await MakeRequestAsync(bus, "select 2").WaitAsync(Patience));

        await requests.DisposeAsync();
        await service.WaitAsync(Patience);

        static async Task<string> MakeRequestAsync(IMessageBus bus, string query)
        {
            string requestId = Guid.NewGuid().ToString("N");
            await using EventStream<DataResponse> responses = bus.Stream<DataResponse>();
            await bus.PublishAsync(new DataResponse("someone-else", "not mine"));
            await bus.PublishAsync(new DataRequest(requestId, query));
            await foreach (DataResponse response in responses)
            {
                if (response.RequestId == requestId)
                {
                    return response.Result;
                }
            }

            throw new InvalidOperationException("The stream ended without a response.");
        }
    }

    private static async Task PublishTicksWithoutWaitingAsync(IMessageBus bus, params int[] ticks)
    {
        foreach (int n in ticks)
        {
            ValueTask publish = bus.PublishAsync(new Tick(n));
            Assert.True(publish.IsCompleted, $"publishing tick {n} to a full stream that drops must not wait");
            await publish;
        }
    }

    private static async Task<List<T>> ReadAsync<T>(EventStream<T> stream, int count)
    {
        List<T> read = [];
        using CancellationTokenSource cts = new(Patience);
        await using IAsyncEnumerator<T> reader = stream.GetAsyncEnumerator(cts.Token);
        while (read.Count < count && await reader.MoveNextAsync())
        {
            read.Add(reader.Current);
        }

        return read;
    }

    private static async Task<List<T>> ReadToEndAsync<T>(EventStream<T> stream)
    {
        List<T> read = [];
        using CancellationTokenSource cts = new(Patience);
        await foreach (T item in stream.WithCancellation(cts.Token))
        {
            read.Add(item);
        }

        return read;
    }
}
