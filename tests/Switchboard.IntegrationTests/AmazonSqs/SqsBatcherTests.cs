using System.Collections.Concurrent;
using Switchboard.AmazonSqs;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The batcher behind <c>SendMessageBatch</c> and <c>DeleteMessageBatch</c>, with a stand-in for the call (no server): an
/// entry on a quiet queue goes at once, alone; while a call is in flight, entries wait for it unless they fill a batch.
/// </summary>
public sealed class SqsBatcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task While_a_call_is_in_flight_a_second_one_starts_only_for_a_full_batch_and_the_rest_waits_for_the_first_to_return()
    {
        HeldCalls calls = new();
        SqsBatcher<int> batcher = new(calls.SendAsync, _ => 1, maxInFlight: 4, maxBatchBytes: int.MaxValue);

        List<Task> done = [batcher.EnqueueAsync(0)];
        HeldCall first = await calls.NextAsync();
        Assert.Equal([0], first.Items);

        // Five more: not a full batch, so no second call (it would carry a few entries; the call in flight takes them).
        for (int i = 1; i <= 5; i++)
        {
            done.Add(batcher.EnqueueAsync(i));
        }

        Assert.Equal(1, batcher.Running);

        // Five more make a full batch waiting: a second call takes the ten at once.
        for (int i = 6; i <= 10; i++)
        {
            done.Add(batcher.EnqueueAsync(i));
        }

        HeldCall second = await calls.NextAsync();
        Assert.Equal(Enumerable.Range(1, 10), second.Items);

        // Four more, two calls in flight: they wait.
        for (int i = 11; i <= 14; i++)
        {
            done.Add(batcher.EnqueueAsync(i));
        }

        Assert.Equal(2, batcher.Running);

        // The first call returns: it leaves the four to the call still in flight rather than send a small batch beside it.
        first.Release();
        await Eventually.TrueAsync(() => batcher.Running == 1, Patience, () => $"{batcher.Running} calls running");
        Assert.Equal(2, calls.Started);

        second.Release();
        HeldCall third = await calls.NextAsync();
        Assert.Equal(4, third.Items.Count);
        third.Release();

        await Task.WhenAll(done).WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(0, 15), first.Items.Concat(second.Items).Concat(third.Items).Order());
    }

    [Fact]
    public async Task A_batch_full_by_size_also_starts_a_second_call()
    {
        HeldCalls calls = new();
        SqsBatcher<int> batcher = new(calls.SendAsync, _ => 40, maxInFlight: 4, maxBatchBytes: 100);

        List<Task> done = [batcher.EnqueueAsync(0)];
        HeldCall first = await calls.NextAsync();
        done.Add(batcher.EnqueueAsync(1));
        done.Add(batcher.EnqueueAsync(2));
        Assert.Equal(1, batcher.Running); // 80 bytes waiting: not yet a full request

        done.Add(batcher.EnqueueAsync(3)); // 120 bytes: more than one request carries
        HeldCall second = await calls.NextAsync();
        Assert.Equal([1, 2], second.Items);

        first.Release();
        second.Release();
        HeldCall third = await calls.NextAsync();
        Assert.Equal([3], third.Items);
        third.Release();
        await Task.WhenAll(done).WaitAsync(Patience);
    }

    [Fact]
    public async Task An_entry_on_a_quiet_queue_goes_at_once_alone()
    {
        HeldCalls calls = new();
        SqsBatcher<int> batcher = new(calls.SendAsync, _ => 1, maxInFlight: 4, maxBatchBytes: int.MaxValue);

        Task done = batcher.EnqueueAsync(7);
        HeldCall call = await calls.NextAsync();
        Assert.Equal([7], call.Items);
        call.Release();
        await done.WaitAsync(Patience);
    }

    [Fact]
    public async Task With_a_gather_a_partial_batch_waits_while_more_entries_are_coming_until_the_batch_is_full()
    {
        HeldCalls calls = new();
        SqsBatcher<int> batcher = new(calls.SendAsync, _ => 1, 4, int.MaxValue, new SqsBatcher<int>.Gather(() => true, TimeSpan.FromMilliseconds(10), new FrozenTime()));

        // More always said to be coming, and a linger that never passes: the first entry waits, and only a full batch ends it.
        List<Task> done = [batcher.EnqueueAsync(0)];
        await Eventually.TrueAsync(() => batcher.Gathering, Patience, () => $"{calls.Started} calls started instead of waiting");
        done.AddRange(Enumerable.Range(1, 9).Select(batcher.EnqueueAsync));
        HeldCall call = await calls.NextAsync();
        Assert.Equal(Enumerable.Range(0, 10), call.Items);
        call.Release();
        await Task.WhenAll(done).WaitAsync(Patience);
    }

    [Fact]
    public async Task With_a_gather_a_partial_batch_goes_when_nothing_more_is_coming_or_after_the_linger()
    {
        HeldCalls calls = new();
        bool coming = true;
        SqsBatcher<int> frozen = new(calls.SendAsync, _ => 1, 4, int.MaxValue, new SqsBatcher<int>.Gather(() => Volatile.Read(ref coming), TimeSpan.FromMilliseconds(10), new FrozenTime()));
        List<Task> done = [frozen.EnqueueAsync(0)];
        await Eventually.TrueAsync(() => frozen.Gathering, Patience, () => $"{calls.Started} calls started instead of waiting");
        done.Add(frozen.EnqueueAsync(1));
        done.Add(frozen.EnqueueAsync(2));

        // The last message the bus had is settled: the three go together, at once.
        Volatile.Write(ref coming, false);
        frozen.Nudge();
        HeldCall call = await calls.NextAsync();
        Assert.Equal([0, 1, 2], call.Items);
        call.Release();
        await Task.WhenAll(done).WaitAsync(Patience);

        // A handler that takes long holds no one else's delete beyond the linger.
        SqsBatcher<int> lingering = new(calls.SendAsync, _ => 1, 4, int.MaxValue, new SqsBatcher<int>.Gather(() => true, TimeSpan.FromMilliseconds(50), TimeProvider.System));
        Task alone = lingering.EnqueueAsync(7);
        HeldCall late = await calls.NextAsync();
        Assert.Equal([7], late.Items);
        late.Release();
        await alone.WaitAsync(Patience);
    }

    /// <summary>A clock whose timers never fire: a linger on it never passes.</summary>
    private sealed class FrozenTime : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Never();

        private sealed class Never : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private sealed class HeldCall(List<int> items)
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> Items { get; } = items;

        public void Release() => Gate.SetResult();
    }

    /// <summary>Batch calls that wait for the test to release them; each entry of a released call succeeds.</summary>
    private sealed class HeldCalls
    {
        private readonly ConcurrentQueue<HeldCall> _started = new();
        private int _count;

        public int Started => Volatile.Read(ref _count);

        public async Task SendAsync(IReadOnlyList<SqsBatcher<int>.Pending> batch)
        {
            HeldCall call = new([.. batch.Select(p => p.Item)]);
            _started.Enqueue(call);
            Interlocked.Increment(ref _count);
            await call.Gate.Task;
            foreach (SqsBatcher<int>.Pending pending in batch)
            {
                pending.Done.TrySetResult();
            }
        }

        public async Task<HeldCall> NextAsync()
        {
            HeldCall? call = null;
            await Eventually.TrueAsync(() => _started.TryDequeue(out call), Patience, () => "no batch call started");
            return call!;
        }
    }
}
