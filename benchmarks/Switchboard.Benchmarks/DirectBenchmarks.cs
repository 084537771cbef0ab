using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>
/// The floor: the caller holds the handlers and calls them itself. The handler methods are not inlined, as a
/// handler reached through any bus or container is not, so the floor is a real call and ratios to it stay finite.
/// </summary>
public class DirectBenchmarks
{
    private readonly DirectHandlers handlers = new();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(handlers.Handle(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3()
    {
        Completion.Wait(handlers.HandleFirst(Samples.Broadcast));
        Completion.Wait(handlers.HandleSecond(Samples.Broadcast));
        Completion.Wait(handlers.HandleThird(Samples.Broadcast));
    }

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(handlers.Handle(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(handlers.Handle(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await handlers.Handle(Samples.AsyncPing);
        }
    }
}

/// <summary>Plain handlers with the same bodies as every library's handlers.</summary>
public sealed class DirectHandlers
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask Handle(Ping message)
    {
        Work.Hit();
        return default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask HandleFirst(Broadcast message)
    {
        Work.Hit();
        return default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask HandleSecond(Broadcast message)
    {
        Work.Hit();
        return default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask HandleThird(Broadcast message)
    {
        Work.Hit();
        return default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask Handle(DoWork message)
    {
        Work.Hit();
        return default;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask<Answer> Handle(Query message)
    {
        Work.Hit();
        return new ValueTask<Answer>(Answer.Cached);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask Handle(AsyncPing message) => Work.HitAsync();
}
