using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>
/// The reference for the stream and background cases: a raw bounded <see cref="Channel{T}"/> with one reader,
/// the same capacity and the same full-mode (wait) as the bus is configured with.
/// </summary>
[ProcessCount(Samples.ThroughputProcesses)]
public class ChannelBenchmarks
{
    private Channel<Tick> channel = null!;
    private Task reader = Task.CompletedTask;

    [GlobalSetup(Target = nameof(Stream))]
    public void SetupStream()
    {
        channel = CreateChannel();
        // What a stream subscriber writes: await foreach over the reader.
        reader = Task.Run(async () =>
        {
            await foreach (Tick tick in channel.Reader.ReadAllAsync())
            {
                Work.HitShared();
            }
        });
    }

    [GlobalSetup(Target = nameof(Background))]
    public void SetupBackground()
    {
        channel = CreateChannel();
        // What a background dispatcher does: drain everything available, then wait for more.
        Action<Tick> handler = static _ => Work.HitShared();
        reader = Task.Run(async () =>
        {
            ChannelReader<Tick> r = channel.Reader;
            while (await r.WaitToReadAsync())
            {
                while (r.TryRead(out Tick? tick))
                {
                    handler(tick);
                }
            }
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        channel.Writer.Complete();
        reader.GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Samples.Batch), BenchmarkCategory(Cases.Stream)]
    public async Task Stream()
    {
        long target = Work.Count + Samples.Batch;
        ChannelWriter<Tick> writer = channel.Writer;
        for (int i = 0; i < Samples.Batch; i++)
        {
            await writer.WriteAsync(Samples.Tick);
        }

        Work.WaitFor(target);
    }

    [Benchmark(OperationsPerInvoke = Samples.Batch), BenchmarkCategory(Cases.Background)]
    public async Task Background()
    {
        long target = Work.Count + Samples.Batch;
        ChannelWriter<Tick> writer = channel.Writer;
        for (int i = 0; i < Samples.Batch; i++)
        {
            if (!writer.TryWrite(Samples.Tick))
            {
                await writer.WriteAsync(Samples.Tick);
            }
        }

        Work.WaitFor(target);
    }

    internal static Channel<Tick> CreateChannel() => Channel.CreateBounded<Tick>(new BoundedChannelOptions(Samples.Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = false,
    });
}
