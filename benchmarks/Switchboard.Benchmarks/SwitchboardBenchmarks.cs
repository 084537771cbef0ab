using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>Switchboard, written the way DESIGN.md §2 shows a user writes it: delegate handlers on the builder, calls through <see cref="IMessageBus"/>.</summary>
public class SwitchboardBenchmarks
{
    private IMessageBus bus = null!;

    /// <summary>Whether the bus counts statistics (<see cref="BusOptions.EnableStatistics"/>; on by default, as a user gets it).</summary>
    protected virtual bool Statistics => true;

    [GlobalSetup]
    public void Setup() => bus = MessageBus.Create(b =>
    {
        b.Options.EnableStatistics = Statistics;
        b.Handle<Ping>(static _ => Work.Hit());
        b.Handle<Broadcast>(static _ => Work.Hit());
        b.Handle<Broadcast>(static _ => Work.Hit());
        b.Handle<Broadcast>(static _ => Work.Hit());
        b.Handle<AsyncPing>(static (_, _) => Work.HitAsync());
        b.Handle<DoWork>(static _ => Work.Hit());
        b.Handle<Query, Answer>(static _ =>
        {
            Work.Hit();
            return Answer.Cached;
        });
    });

    [GlobalCleanup]
    public void Cleanup() => bus.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(bus.PublishAsync(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(bus.PublishAsync(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.SendAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.RequestAsync(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await bus.PublishAsync(Samples.AsyncPing);
        }
    }
}

/// <summary>
/// The same bus with <see cref="BusOptions.EnableStatistics"/> off: no exact per-dispatch counts, so no thread-local read
/// on the fast paths, which is what Mediator and the other peers do (they count nothing).
/// </summary>
public class SwitchboardNoStatisticsBenchmarks : SwitchboardBenchmarks
{
    protected override bool Statistics => false;
}

/// <summary>
/// Switchboard's <c>Stream&lt;T&gt;</c> with one <c>await foreach</c> subscriber, and its background publish, each
/// against the raw bounded channel in <see cref="ChannelBenchmarks"/> (same capacity, same full mode).
/// </summary>
[ProcessCount(Samples.ThroughputProcesses)]
public class SwitchboardThroughputBenchmarks
{
    private static readonly PublishOptions InBackground = new() { Background = true };

    private IMessageBus bus = null!;
    private EventStream<Tick>? stream;
    private Task reader = Task.CompletedTask;

    [GlobalSetup(Target = nameof(Stream))]
    public void SetupStream()
    {
        bus = MessageBus.Create(_ => { });
        stream = bus.Stream<Tick>(new StreamOptions { Capacity = Samples.Capacity, FullMode = BoundedChannelFullMode.Wait });
        EventStream<Tick> subscribed = stream;
        // The same reader as the raw channel's (ChannelBenchmarks.SetupStream): await foreach without a token, ended in
        // Cleanup by completing the buffer (here: disposing the stream), so both cases do the same work.
        reader = Task.Run(async () =>
        {
            await foreach (Tick tick in subscribed)
            {
                Work.HitShared();
            }
        });
    }

    [GlobalSetup(Target = nameof(Background))]
    public void SetupBackground() => bus = MessageBus.Create(b =>
    {
        // The same capacity as the raw channel it is compared with; the default number of workers (one per core).
        b.Options.BackgroundQueueCapacity = Samples.Capacity;
        b.Handle<Tick>(static _ => Work.HitShared());
    });

    [GlobalCleanup]
    public void Cleanup()
    {
        // As the raw channel's cleanup: complete the buffer, then wait for the reader to finish.
        stream?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        reader.GetAwaiter().GetResult();
        bus.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Samples.Batch), BenchmarkCategory(Cases.Stream)]
    public async Task Stream()
    {
        long target = Work.Count + Samples.Batch;
        for (int i = 0; i < Samples.Batch; i++)
        {
            await bus.PublishAsync(Samples.Tick);
        }

        Work.WaitFor(target);
    }

    [Benchmark(OperationsPerInvoke = Samples.Batch), BenchmarkCategory(Cases.Background)]
    public async Task Background()
    {
        long target = Work.Count + Samples.Batch;
        for (int i = 0; i < Samples.Batch; i++)
        {
            await bus.PublishAsync(Samples.Tick, InBackground);
        }

        Work.WaitFor(target);
    }
}
