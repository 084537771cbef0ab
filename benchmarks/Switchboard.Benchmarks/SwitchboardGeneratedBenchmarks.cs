using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>
/// Switchboard with class handlers (<see cref="IHandler{TMessage}"/>) registered by the source generator's
/// <c>AddGeneratedHandlers()</c>: no reflection at start-up, and handlers that never read their <see cref="MessageContext"/>
/// run on the same fast paths as delegate handlers. Calls through <see cref="IMessageBus"/>, as in <see cref="SwitchboardBenchmarks"/>.
/// </summary>
public class SwitchboardGeneratedBenchmarks
{
    private IMessageBus bus = null!;

    [GlobalSetup]
    public void Setup() => bus = MessageBus.Create(static b => b.AddGeneratedHandlers());

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

// The class handlers the generator registers: the same work as every other contender's handlers (one increment).

public sealed class SwitchboardPingHandler : IHandler<Ping>
{
    public ValueTask HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class SwitchboardBroadcastHandler1 : IHandler<Broadcast>
{
    public ValueTask HandleAsync(Broadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class SwitchboardBroadcastHandler2 : IHandler<Broadcast>
{
    public ValueTask HandleAsync(Broadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class SwitchboardBroadcastHandler3 : IHandler<Broadcast>
{
    public ValueTask HandleAsync(Broadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class SwitchboardAsyncPingHandler : IHandler<AsyncPing>
{
    public ValueTask HandleAsync(AsyncPing message, MessageContext context, CancellationToken cancellationToken) => Work.HitAsync();
}

public sealed class SwitchboardDoWorkHandler : IHandler<DoWork>
{
    public ValueTask HandleAsync(DoWork message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class SwitchboardQueryHandler : IHandler<Query, Answer>
{
    public ValueTask<Answer> HandleAsync(Query message, MessageContext context, CancellationToken cancellationToken)
    {
        Work.Hit();
        return new(Answer.Cached);
    }
}
