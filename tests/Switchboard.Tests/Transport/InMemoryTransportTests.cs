using System.Collections.Concurrent;
using System.Text;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed class InMemoryTransportTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(100);

    private static TransportMessage Message(string id, string destination = "orders", string body = "{}")
        => new()
        {
            Destination = destination,
            Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = id, [MessageHeaders.MessageType] = "test" },
            Body = Encoding.UTF8.GetBytes(body),
        };

    private static ValueTask<ITransportReceiver> Receiver(InMemoryTransport transport, string group, string name = "c", string destination = "orders")
        => transport.CreateReceiverAsync(new ReceiverOptions(destination, group, name), CancellationToken.None);

    private static async Task<ReceivedMessage> ReceiveAsync(ITransportReceiver receiver)
    {
        using CancellationTokenSource cts = new(Patience);
        return await receiver.ReceiveAsync(cts.Token);
    }

    private static async Task AssertNothingToReceiveAsync(ITransportReceiver receiver)
    {
        using CancellationTokenSource cts = new(Short);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await receiver.ReceiveAsync(cts.Token));
    }

    [Fact]
    public void The_in_memory_transport_is_named_inmemory_and_emulates_delays()
    {
        InMemoryTransport transport = new();

        Assert.Equal("inmemory", transport.Name);
        Assert.Equal(TransportCapabilities.NativeDelay, transport.Capabilities);
    }

    [Fact]
    public async Task A_received_message_carries_the_headers_body_and_key_that_were_sent_on_its_first_delivery()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver receiver = await Receiver(transport, "g");
        TransportMessage sent = new()
        {
            Destination = "orders",
            Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "m-1", ["custom"] = "yes" },
            Body = "{\"a\":1}"u8.ToArray(),
            PartitionKey = "order-42",
        };

        await transport.SendAsync(sent, CancellationToken.None);
        ReceivedMessage received = await ReceiveAsync(receiver);

        Assert.Equal(1, received.DeliveryCount);
        Assert.Equal("m-1", received.Message.MessageId);
        Assert.Equal("yes", received.Message.GetHeader("custom"));
        Assert.Null(received.Message.GetHeader("absent"));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(received.Message.Body.Span));
        Assert.Equal("order-42", received.Message.PartitionKey);
    }

    [Fact]
    public async Task Receivers_of_one_group_compete_each_message_going_to_one_of_them()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver first = await Receiver(transport, "workers", "w1");
        await using ITransportReceiver second = await Receiver(transport, "workers", "w2");
        for (int i = 1; i <= 3; i++)
        {
            await transport.SendAsync(Message($"m{i}"), CancellationToken.None);
        }

        ReceivedMessage a = await ReceiveAsync(first);
        ReceivedMessage b = await ReceiveAsync(second);
        ReceivedMessage c = await ReceiveAsync(first);

        Assert.Equal(["m1", "m2", "m3"], new[] { a, b, c }.Select(m => m.Message.MessageId));
        foreach (ReceivedMessage m in new[] { a, b, c })
        {
            await m.AckAsync(CancellationToken.None);
        }

        await AssertNothingToReceiveAsync(first);
        await AssertNothingToReceiveAsync(second);
    }

    [Fact]
    public async Task Concurrent_receivers_of_one_group_handle_every_message_exactly_once()
    {
        const int Count = 200;
        await using InMemoryTransport transport = new();
        ConcurrentQueue<string> handled = new();
        TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenSource stop = new();
        Task[] consumers = new Task[3];
        for (int i = 0; i < consumers.Length; i++)
        {
            ITransportReceiver receiver = await Receiver(transport, "workers", $"w{i}");
            consumers[i] = Task.Run(async () =>
            {
                await using ITransportReceiver _ = receiver;
                try
                {
                    while (true)
                    {
                        ReceivedMessage m = await receiver.ReceiveAsync(stop.Token);
                        handled.Enqueue(m.Message.MessageId);
                        await m.AckAsync(CancellationToken.None);
                        if (handled.Count >= Count)
                        {
                            all.TrySetResult();
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        await Parallel.ForAsync(0, Count, async (i, ct) => await transport.SendAsync(Message($"m{i}"), ct));
        await all.Task.WaitAsync(Patience);
        await stop.CancelAsync();
        await Task.WhenAll(consumers).WaitAsync(Patience);

        Assert.Equal(Count, handled.Count);
        Assert.Equal(Count, handled.Distinct().Count());
    }

    [Fact]
    public async Task Every_group_receives_every_message()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver billing = await Receiver(transport, "billing");
        await using ITransportReceiver shipping = await Receiver(transport, "shipping");

        await transport.SendAsync(Message("m1"), CancellationToken.None);
        await transport.SendAsync(Message("m2"), CancellationToken.None);

        Assert.Equal("m1", (await ReceiveAsync(billing)).Message.MessageId);
        Assert.Equal("m2", (await ReceiveAsync(billing)).Message.MessageId);
        Assert.Equal("m1", (await ReceiveAsync(shipping)).Message.MessageId);
        Assert.Equal("m2", (await ReceiveAsync(shipping)).Message.MessageId);
    }

    [Fact]
    public async Task Destinations_are_separate()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver orders = await Receiver(transport, "g", destination: "orders");
        await using ITransportReceiver payments = await Receiver(transport, "g", destination: "payments");

        await transport.SendAsync(Message("p1", destination: "payments"), CancellationToken.None);

        Assert.Equal("p1", (await ReceiveAsync(payments)).Message.MessageId);
        await AssertNothingToReceiveAsync(orders);
    }

    [Fact]
    public async Task Messages_sent_before_any_group_exists_go_to_the_first_group_only()
    {
        await using InMemoryTransport transport = new();
        await transport.SendAsync(Message("early-1"), CancellationToken.None);
        await transport.SendAsync(Message("early-2"), CancellationToken.None);

        await using ITransportReceiver first = await Receiver(transport, "first");
        await using ITransportReceiver second = await Receiver(transport, "second");
        await transport.SendAsync(Message("late"), CancellationToken.None);

        Assert.Equal(["early-1", "early-2", "late"], [(await ReceiveAsync(first)).Message.MessageId, (await ReceiveAsync(first)).Message.MessageId, (await ReceiveAsync(first)).Message.MessageId]);
        Assert.Equal("late", (await ReceiveAsync(second)).Message.MessageId);
        await AssertNothingToReceiveAsync(second);
    }

    [Fact]
    public async Task A_receiver_disposed_without_settling_has_its_messages_delivered_again_with_the_count_increased()
    {
        await using InMemoryTransport transport = new();
        ITransportReceiver crashed = await Receiver(transport, "workers", "w1");
        await using ITransportReceiver survivor = await Receiver(transport, "workers", "w2");
        await transport.SendAsync(Message("acked"), CancellationToken.None);
        await transport.SendAsync(Message("unsettled"), CancellationToken.None);
        ReceivedMessage acked = await ReceiveAsync(crashed);
        ReceivedMessage unsettled = await ReceiveAsync(crashed);
        await acked.AckAsync(CancellationToken.None);

        await crashed.DisposeAsync();

        ReceivedMessage again = await ReceiveAsync(survivor);
        Assert.Equal("unsettled", again.Message.MessageId);
        Assert.Equal(2, again.DeliveryCount);
        Assert.Equal(1, unsettled.DeliveryCount);
        await again.AckAsync(CancellationToken.None);
        await AssertNothingToReceiveAsync(survivor);
    }

    [Fact]
    public async Task RetryAsync_delivers_the_message_again_after_the_delay_with_the_count_increased()
    {
        ManualClock clock = new();
        await using InMemoryTransport transport = new(clock);
        await using ITransportReceiver receiver = await Receiver(transport, "g");
        await transport.SendAsync(Message("m1"), CancellationToken.None);
        ReceivedMessage first = await ReceiveAsync(receiver);

        await first.RetryAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        using CancellationTokenSource cts = new(Patience);
        Task<ReceivedMessage> next = receiver.ReceiveAsync(cts.Token).AsTask();
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(next.IsCompleted, "the retry must wait for its delay");
        clock.Advance(TimeSpan.FromSeconds(1));

        ReceivedMessage second = await next.WaitAsync(Patience);
        Assert.Equal("m1", second.Message.MessageId);
        Assert.Equal(2, second.DeliveryCount);
    }

    [Fact]
    public async Task RetryAsync_without_a_delay_delivers_the_message_again_at_once()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver receiver = await Receiver(transport, "g");
        await transport.SendAsync(Message("m1"), CancellationToken.None);

        await (await ReceiveAsync(receiver)).RetryAsync(TimeSpan.Zero, CancellationToken.None);
        ReceivedMessage second = await ReceiveAsync(receiver);
        await second.RetryAsync(TimeSpan.Zero, CancellationToken.None);
        ReceivedMessage third = await ReceiveAsync(receiver);

        Assert.Equal(2, second.DeliveryCount);
        Assert.Equal(3, third.DeliveryCount);
    }

    [Fact]
    public async Task A_message_is_settled_once_later_settlements_do_nothing()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver receiver = await Receiver(transport, "g");
        await transport.SendAsync(Message("m1"), CancellationToken.None);
        ReceivedMessage received = await ReceiveAsync(receiver);

        await received.AckAsync(CancellationToken.None);
        await received.RetryAsync(TimeSpan.Zero, CancellationToken.None);
        await received.DeadLetterAsync(new DeadLetterReason("late", null, null, 1), CancellationToken.None);

        await AssertNothingToReceiveAsync(receiver);
        Assert.Equal(0, await transport.GetDeadLetterQueue("orders", "g").CountAsync());
    }

    [Fact]
    public async Task DeadLetterAsync_moves_the_message_with_its_reason_to_the_group_dead_letter_queue()
    {
        ManualClock clock = new();
        await using InMemoryTransport transport = new(clock);
        await using ITransportReceiver receiver = await Receiver(transport, "billing");
        await using ITransportReceiver other = await Receiver(transport, "shipping");
        await transport.SendAsync(Message("m1", body: "{\"x\":1}"), CancellationToken.None);
        ReceivedMessage received = await ReceiveAsync(receiver);
        DeadLetterReason reason = DeadLetterReason.FromException(new InvalidOperationException("no stock"), 3);

        await received.DeadLetterAsync(reason, CancellationToken.None);

        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("orders", "billing");
        DeadLetterMessage entry = Assert.Single(await dlq.ListAsync());
        Assert.Equal(1, await dlq.CountAsync());
        Assert.Equal(reason, entry.Reason);
        Assert.Equal("Handler failed after 3 attempt(s): InvalidOperationException: no stock", entry.Reason.Reason);
        Assert.Equal(typeof(InvalidOperationException).FullName, entry.Reason.ExceptionType);
        Assert.Contains("no stock", entry.Reason.ExceptionDetails, StringComparison.Ordinal);
        Assert.Equal("m1", entry.Message.MessageId);
        Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(entry.Message.Body.Span));
        Assert.Equal("billing", entry.ConsumerGroup);
        Assert.Equal(clock.GetUtcNow(), entry.DeadLetteredAt);
        Assert.False(string.IsNullOrEmpty(entry.Id));
        await AssertNothingToReceiveAsync(receiver);
        Assert.Equal(0, await transport.GetDeadLetterQueue("orders", "shipping").CountAsync());
    }

    [Fact]
    public async Task The_dead_letter_queue_lists_counts_replays_and_deletes()
    {
        await using InMemoryTransport transport = new();
        await using ITransportReceiver receiver = await Receiver(transport, "g");
        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("orders", "g");
        for (int i = 1; i <= 4; i++)
        {
            await transport.SendAsync(Message($"m{i}"), CancellationToken.None);
            ReceivedMessage received = await ReceiveAsync(receiver);
            await received.DeadLetterAsync(new DeadLetterReason($"reason {i}", null, null, 1), CancellationToken.None);
        }

        IReadOnlyList<DeadLetterMessage> listed = await dlq.ListAsync();
        Assert.Equal(["m1", "m2", "m3", "m4"], listed.Select(e => e.Message.MessageId));
        Assert.Equal(["m1", "m2"], (await dlq.ListAsync(2)).Select(e => e.Message.MessageId));
        Assert.Equal(4, await dlq.CountAsync());
        Assert.Equal(4, listed.Select(e => e.Id).Distinct().Count());

        // Replay one: back to its group as a first delivery, gone from the queue.
        Assert.True(await dlq.ReplayAsync(listed[1].Id));
        Assert.False(await dlq.ReplayAsync(listed[1].Id));
        ReceivedMessage replayed = await ReceiveAsync(receiver);
        Assert.Equal("m2", replayed.Message.MessageId);
        Assert.Equal(1, replayed.DeliveryCount);
        await replayed.AckAsync(CancellationToken.None);
        Assert.Equal(3, await dlq.CountAsync());

        // Delete one for good.
        Assert.True(await dlq.DeleteAsync(listed[0].Id));
        Assert.False(await dlq.DeleteAsync(listed[0].Id));
        Assert.False(await dlq.ReplayAsync(listed[0].Id));
        Assert.Equal(["m3", "m4"], (await dlq.ListAsync()).Select(e => e.Message.MessageId));

        // Replay the rest.
        Assert.Equal(2, await dlq.ReplayAllAsync());
        Assert.Equal(0, await dlq.CountAsync());
        Assert.Empty(await dlq.ListAsync());
        Assert.Equal("m3", (await ReceiveAsync(receiver)).Message.MessageId);
        Assert.Equal("m4", (await ReceiveAsync(receiver)).Message.MessageId);
        await AssertNothingToReceiveAsync(receiver);
        Assert.Equal(0, await dlq.ReplayAllAsync());
    }

    [Fact]
    public async Task Replaying_on_a_disposed_transport_throws_and_keeps_the_dead_letter_entry()
    {
        InMemoryTransport transport = new();
        ITransportReceiver receiver = await Receiver(transport, "g");
        await transport.SendAsync(Message("m1"), CancellationToken.None);
        await (await ReceiveAsync(receiver)).DeadLetterAsync(new DeadLetterReason("broken", null, null, 1), CancellationToken.None);
        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("orders", "g");
        string id = Assert.Single(await dlq.ListAsync()).Id;

        await transport.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dlq.ReplayAsync(id));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dlq.ReplayAllAsync());
        Assert.Equal(1, await dlq.CountAsync());
    }

    [Fact]
    public async Task Listing_a_dead_letter_queue_needs_a_positive_count()
    {
        await using InMemoryTransport transport = new();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await transport.GetDeadLetterQueue("orders", "g").ListAsync(0));
    }

    [Fact]
    public async Task A_disposed_transport_refuses_to_send_and_to_create_receivers_and_ends_waiting_receivers()
    {
        InMemoryTransport transport = new();
        ITransportReceiver receiver = await Receiver(transport, "g");
        using CancellationTokenSource cts = new(Patience);
        Task<ReceivedMessage> waiting = receiver.ReceiveAsync(cts.Token).AsTask();

        await transport.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await transport.SendAsync(Message("m1"), CancellationToken.None));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Receiver(transport, "g2"));
        Exception ended = await Assert.ThrowsAnyAsync<Exception>(() => waiting.WaitAsync(Patience));
        Assert.IsNotType<TimeoutException>(ended);
        Assert.False(cts.IsCancellationRequested);
    }

    /// <summary>A clock that moves only when told, firing the timers that fall due.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private readonly Lock _gate = new();
        private readonly List<ManualTimer> _timers = [];
        private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow()
        {
            lock (_gate)
            {
                return _now;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ManualTimer timer = new(this, callback, state);
            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            List<ManualTimer> due;
            lock (_gate)
            {
                _now += by;
                due = [.. _timers.Where(t => t.DueAt <= _now)];
                _timers.RemoveAll(due.Contains);
            }

            foreach (ManualTimer timer in due)
            {
                timer.Fire();
            }
        }

        private void Schedule(ManualTimer timer, TimeSpan dueTime)
        {
            lock (_gate)
            {
                _timers.Remove(timer);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    timer.DueAt = _now + dueTime;
                    _timers.Add(timer);
                }
            }
        }

        private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
        {
            public DateTimeOffset DueAt { get; set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                clock.Schedule(this, dueTime);
                return true;
            }

            public void Fire() => callback(state);

            public void Dispose() => clock.Schedule(this, Timeout.InfiniteTimeSpan);

            public ValueTask DisposeAsync()
            {
                Dispose();
                return default;
            }
        }
    }
}
