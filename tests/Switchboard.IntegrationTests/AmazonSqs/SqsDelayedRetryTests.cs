using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.AmazonSqs;
using Switchboard.Responses;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>Retries on a standard queue wait in SQS as delayed messages (<c>DelaySeconds</c>), not as messages in flight.</summary>
public sealed class SqsDelayedRetryTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await SqsServer.DeleteQueuesAsync(_prefix);
    }

    [Fact]
    public async Task Retry_OnAStandardQueue_WaitsAsADelayedCopy_ThenComesBackWithTheDeliveryCounted()
    {
        ConcurrentQueue<int> attempts = new();
        long failedAt = 0;
        TaskCompletionSource<(int Attempt, TimeSpan After)> succeeded = new(TaskCreationOptions.RunContinuationsAsynchronously);
        SqsTransport senderTransport = Own(new SqsTransport(SqsServer.Options(_prefix)));
        SqsTransport workerTransport = Own(new SqsTransport(SqsServer.Options(_prefix)));
        InMemoryResponseStore responses = new();
        IMessageBus worker = Own(MessageBus.Create(b => b
            .Configure(o => { o.Name = "billing"; o.Retry.MaxAttempts = 3; o.Retry.InitialDelay = TimeSpan.FromSeconds(4); o.Retry.Jitter = false; })
            .UseTransport(workerTransport).UseResponseStore(responses)
            .RouteToTransport<SqsOrder>("delayed")
            .Handle<SqsOrder>((e, context, ct) =>
            {
                attempts.Enqueue(context.Attempt);
                if (context.Attempt == 1)
                {
                    Volatile.Write(ref failedAt, Stopwatch.GetTimestamp());
                    throw new InvalidOperationException("the first attempt fails");
                }

                succeeded.TrySetResult((context.Attempt, Stopwatch.GetElapsedTime(Volatile.Read(ref failedAt))));
                return ValueTask.CompletedTask;
            })));
        IMessageBus sender = Own(MessageBus.Create(b => b.Configure(o => o.Name = "web").UseTransport(senderTransport).UseResponseStore(responses).RouteToTransport<SqsOrder>("delayed")));
        await ((Switchboard.Bus.SwitchboardBus)worker).EnsureStartedAsync(CancellationToken.None);

        await sender.PublishAsync(new SqsOrder("d-1"));

        // Once the original is deleted, the retry waits in SQS as a delayed message: nothing in flight, nothing visible. Kept in flight
        // instead (the visibility timeout), it would count as in flight and never as delayed.
        SqsQueueInfo waiting = await InfoAsync(senderTransport, info => (info.Delayed > 0 && info.InFlight == 0) || succeeded.Task.IsCompleted);
        Assert.Equal(new SqsQueueInfo(Visible: 0, InFlight: 0, Delayed: 1, DeadLetters: 0), waiting);

        (int attempt, TimeSpan after) = await succeeded.Task.WaitAsync(Patience);
        Assert.Equal(2, attempt); // the copy carries the delivery before it: SQS alone would count it as a first delivery
        Assert.True(after >= TimeSpan.FromSeconds(3), $"the retry came back after {after.TotalSeconds:0.0} s, before its 4 s delay");
        Assert.Equal([1, 2], attempts);
        Assert.Equal(new SqsQueueInfo(0, 0, 0, 0), await InfoAsync(senderTransport, info => info == new SqsQueueInfo(0, 0, 0, 0)));
        Assert.Equal([1, 2], attempts); // and the original, deleted, never came back
    }

    /// <summary>Reads the queue's counts until <paramref name="until"/> holds (or the patience runs out: the last counts).</summary>
    private static async Task<SqsQueueInfo> InfoAsync(SqsTransport transport, Func<SqsQueueInfo, bool> until)
    {
        Stopwatch waited = Stopwatch.StartNew();
        while (true)
        {
            SqsQueueInfo info = await transport.GetQueueInfoAsync("delayed", "billing");
            if (until(info) || waited.Elapsed > Patience)
            {
                return info;
            }

            await Task.Delay(20);
        }
    }

    private T Own<T>(T owned)
        where T : IAsyncDisposable
    {
        _owned.Add(owned);
        return owned;
    }
}
