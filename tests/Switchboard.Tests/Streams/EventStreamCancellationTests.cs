using System.Threading.Channels;

namespace Switchboard.Tests.Streams;

/// <summary>
/// Cancelling a stream's enumeration: the token is registered once per enumeration (not per wait for events), and
/// cancelling ends the stream as leaving the loop does.
/// </summary>
public sealed class EventStreamCancellationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task An_enumeration_with_an_already_cancelled_token_throws_before_reading_a_buffered_event()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        await bus.PublishAsync(new Tick(1));
        using CancellationTokenSource cts = new();
        await cts.CancelAsync();

        List<Tick> read = [];
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (Tick tick in stream.WithCancellation(cts.Token))
            {
                read.Add(tick);
            }
        });

        Assert.Empty(read);
        Assert.False(stream.IsActive);
    }

    [Fact]
    public async Task Cancelling_an_enumeration_that_waits_for_events_throws_even_though_it_ends_the_stream()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>();
        using CancellationTokenSource cts = new();
        await using IAsyncEnumerator<Tick> reader = stream.GetAsyncEnumerator(cts.Token);
        await bus.PublishAsync(new Tick(1));
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Patience));

        ValueTask<bool> waiting = reader.MoveNextAsync();
        Assert.False(waiting.IsCompleted, "nothing is buffered, so the reader waits");
        await cts.CancelAsync();

        // The stream ended (a later event is not buffered), and the reader learns it was cancelled, not that the stream ran dry.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask().WaitAsync(Patience));
        Assert.False(stream.IsActive);
        await bus.PublishAsync(new Tick(2));
        Assert.Equal(0, stream.Count);
    }

    [Fact]
    public async Task Cancelling_the_enumeration_releases_a_publisher_waiting_for_room_while_the_reader_is_busy()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 1, FullMode = BoundedChannelFullMode.Wait });
        using CancellationTokenSource cts = new();
        await using IAsyncEnumerator<Tick> reader = stream.GetAsyncEnumerator(cts.Token);
        await bus.PublishAsync(new Tick(1));
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Patience));

        // The reader holds Tick(1) and does not come back for more; Tick(2) fills the buffer, Tick(3) waits for room.
        await bus.PublishAsync(new Tick(2)).AsTask().WaitAsync(Patience);
        Task blocked = bus.PublishAsync(new Tick(3)).AsTask();
        Assert.False(blocked.IsCompleted);

        await cts.CancelAsync();

        // Nobody will read again: the publisher is released at once, not when the reader next asks for an event.
        await blocked.WaitAsync(Patience);
        Assert.False(stream.IsActive);
        List<Tick> after = [];
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await reader.MoveNextAsync().AsTask().WaitAsync(Patience))
            {
                after.Add(reader.Current);
            }
        });
        Assert.DoesNotContain(new Tick(3), after);
    }

    [Fact]
    public async Task A_cancellable_enumeration_reads_every_event_in_order_across_many_waits()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        EventStream<Tick> stream = bus.Stream<Tick>(new StreamOptions { Capacity = 4, FullMode = BoundedChannelFullMode.Wait });
        using CancellationTokenSource cts = new();
        const int Count = 2_000;
        Task<List<Tick>> reading = Task.Run(async () =>
        {
            List<Tick> read = [];
            await foreach (Tick tick in stream.WithCancellation(cts.Token))
            {
                read.Add(tick);
                if (read.Count == Count)
                {
                    break;
                }
            }

            return read;
        });

        for (int i = 0; i < Count; i++)
        {
            await bus.PublishAsync(new Tick(i)).AsTask().WaitAsync(Patience);
        }

        List<Tick> all = await reading.WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => new Tick(i)), all);
        Assert.False(stream.IsActive);
        Assert.Equal(Count, bus.GetStatistics().EventsPublished);
        Assert.Equal(Count, bus.GetStatistics().HandlersInvoked);
    }
}
