using System.Threading.Tasks.Sources;

namespace Switchboard.AllocationTests;

/// <summary>
/// The generated registration's paths, and the asynchronous path: a handler whose task completes later costs the bus no
/// allocation of its own (its continuation's box is pooled), only what the handler itself allocates.
/// </summary>
public sealed class AsyncAndGeneratedAllocationTests
{
    private static readonly ClassPing ClassPing = new(1);
    private static readonly ClassQuery ClassQuery = new(2);
    private static readonly Ping Ping = new(3);
    private static readonly DoWork DoWork = new(4);
    private static readonly Query Query = new(5);
    private static readonly ClassBroadcast ClassBroadcast = new(6);
    private static readonly ClassLaterBroadcast ClassLaterBroadcast = new(7);

    [Fact]
    public async Task Publish_ToGeneratedClassHandler_AllocatesNothing()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());
        long before = ClassCounter.Value;

        long bytes = AllocationMeter.Measure(() => bus.PublishAsync(ClassPing));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to a generated class handler", bytes));
        Assert.True(ClassCounter.Value - before >= AllocationMeter.WarmUp + AllocationMeter.Iterations);
    }

    [Fact]
    public async Task Request_ToGeneratedClassHandler_AllocatesNothing()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        long bytes = AllocationMeter.Measure(() => bus.RequestAsync(ClassQuery));

        Assert.True(bytes == 0, AllocationMeter.Describe("RequestAsync to a generated class handler", bytes));
    }

    [Fact]
    public async Task Send_ToGeneratedClassHandler_AllocatesNothing()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        long bytes = AllocationMeter.Measure(() => bus.SendAsync(ClassQuery));

        Assert.True(bytes == 0, AllocationMeter.Describe("SendAsync to a generated class handler", bytes));
    }

    [Fact]
    public async Task Publish_ToThreeGeneratedClassHandlersRunFused_AllocatesNothing()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());
        long before = ClassCounter.Value;

        long bytes = AllocationMeter.Measure(() => bus.PublishAsync(ClassBroadcast));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to three generated class handlers", bytes));
        Assert.True(ClassCounter.Value - before >= 3 * (AllocationMeter.WarmUp + AllocationMeter.Iterations));
    }

    [Fact]
    public async Task Publish_ToFusedGeneratedHandlersTheMiddleCompletingLater_AllocatesNothingOfTheBussOwn()
    {
        // The fused run's own continuation (after the middle handler) and the bus's both have pooled boxes.
        LaterSource later = new();
        ClassLater.Next = later.Next;
        try
        {
            await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());
            long before = ClassCounter.Value;

            long bytes = MeasureCompletedLater(later, () => bus.PublishAsync(ClassLaterBroadcast));

            Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to fused generated handlers, the middle one completing later", bytes));
            Assert.Equal(2 * (AllocationMeter.WarmUp + AllocationMeter.Iterations), ClassCounter.Value - before);
        }
        finally
        {
            ClassLater.Next = null;
        }
    }

    [Fact]
    public async Task Publish_ToHandlerCompletingLater_AllocatesNothingOfTheBussOwn()
    {
        LaterSource later = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Ping>((_, _) => later.Next()));

        long bytes = MeasureCompletedLater(later, () => bus.PublishAsync(Ping));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to a handler that completes later", bytes));
    }

    [Fact]
    public async Task Publish_ToTwoHandlersTheFirstCompletingLater_AllocatesNothingOfTheBussOwn()
    {
        LaterSource later = new();
        Counter counter = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Ping>((_, _) => later.Next());
            b.Handle<Ping>(_ => counter.Hit());
        });

        long bytes = MeasureCompletedLater(later, () => bus.PublishAsync(Ping));

        Assert.True(bytes == 0, AllocationMeter.Describe("PublishAsync to two handlers, the first completing later", bytes));
        Assert.Equal(AllocationMeter.WarmUp + AllocationMeter.Iterations, counter.Value);
    }

    [Fact]
    public async Task Send_ToHandlerCompletingLater_AllocatesNothingOfTheBussOwn()
    {
        LaterSource later = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<DoWork>((_, _) => later.Next()));

        long bytes = MeasureCompletedLater(later, () => bus.SendAsync(DoWork));

        Assert.True(bytes == 0, AllocationMeter.Describe("SendAsync to a handler that completes later", bytes));
    }

    [Fact]
    public async Task Request_ToHandlerCompletingLater_AllocatesNothingOfTheBussOwn()
    {
        LaterSource later = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Query, Answer>((_, _) => later.NextAnswer()));

        long bytes = MeasureCompletedLater(later, () => bus.RequestAsync(Query));

        Assert.True(bytes == 0, AllocationMeter.Describe("RequestAsync to a handler that completes later", bytes));
    }

    /// <summary>
    /// Starts the operation (which must not complete at once), completes the handler's task on this thread (so the bus's
    /// continuation runs here, inline) and counts this thread's allocations over many rounds.
    /// </summary>
    /// <summary>As <see cref="MeasureCompletedLater(LaterSource, Func{ValueTask})"/>, for a request's task.</summary>
    private static long MeasureCompletedLater(LaterSource later, Func<ValueTask<Answer>> operation)
    {
        for (int i = 0; i < AllocationMeter.WarmUp + AllocationMeter.Iterations; i++)
        {
            long before = i == AllocationMeter.WarmUp ? GC.GetAllocatedBytesForCurrentThread() : 0;
            if (i == AllocationMeter.WarmUp)
            {
                later.MeasuredFrom = before;
            }

            ValueTask<Answer> pending = operation();
            Assert.False(pending.IsCompleted, "The request completed at once: it did not take the asynchronous path.");
            later.CompleteAnswer(Answer.Cached);
            Assert.True(pending.IsCompletedSuccessfully, "The continuation did not run inline on the completing thread.");
            Assert.Same(Answer.Cached, pending.GetAwaiter().GetResult());
        }

        return GC.GetAllocatedBytesForCurrentThread() - later.MeasuredFrom;
    }

    private static long MeasureCompletedLater(LaterSource later, Func<ValueTask> operation)
    {
        for (int i = 0; i < AllocationMeter.WarmUp; i++)
        {
            Round(later, operation);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < AllocationMeter.Iterations; i++)
        {
            Round(later, operation);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;

        static void Round(LaterSource later, Func<ValueTask> operation)
        {
            ValueTask pending = operation();
            if (pending.IsCompleted)
            {
                throw new InvalidOperationException("The operation completed at once: it did not take the asynchronous path.");
            }

            later.Complete();
            if (!pending.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("The continuation did not run inline on the completing thread.");
            }

            pending.GetAwaiter().GetResult();
        }
    }

    /// <summary>A reusable task source: each round hands the handler a pending task and completes it on the caller's thread.</summary>
    private sealed class LaterSource : IValueTaskSource, IValueTaskSource<Answer>
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
        private ManualResetValueTaskSourceCore<Answer> _answer = new() { RunContinuationsAsynchronously = false };

        public long MeasuredFrom { get; set; }

        public ValueTask<Answer> NextAnswer()
        {
            _answer.Reset();
            return new ValueTask<Answer>(this, _answer.Version);
        }

        public void CompleteAnswer(Answer answer) => _answer.SetResult(answer);

        Answer IValueTaskSource<Answer>.GetResult(short token) => _answer.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<Answer>.GetStatus(short token) => _answer.GetStatus(token);

        void IValueTaskSource<Answer>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _answer.OnCompleted(continuation, state, token, flags);

        public ValueTask Next()
        {
            _core.Reset();
            return new ValueTask(this, _core.Version);
        }

        public void Complete() => _core.SetResult(true);

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);
    }
}
