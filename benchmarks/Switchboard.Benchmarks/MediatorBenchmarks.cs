using BenchmarkDotNet.Attributes;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Benchmarks;

/// <summary>martinothamar/Mediator 3 (source-generated), called the way most code does: through <see cref="IMediator"/>.</summary>
public class MediatorInterfaceBenchmarks
{
    private ServiceProvider services = null!;
    private IMediator mediator = null!;

    [GlobalSetup]
    public void Setup()
    {
        services = MediatorSetup.Build();
        mediator = services.GetRequiredService<IMediator>();
    }

    [GlobalCleanup]
    public void Cleanup() => services.Dispose();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(mediator.Publish(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(mediator.Publish(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public Unit Send() => Completion.Wait(mediator.Send(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(mediator.Send(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await mediator.Publish(Samples.AsyncPing);
        }
    }
}

/// <summary>The same Mediator, called through its concrete generated class, whose per-message overloads skip the interface dispatch.</summary>
public class MediatorConcreteBenchmarks
{
    private ServiceProvider services = null!;
    private global::Mediator.Mediator mediator = null!;

    [GlobalSetup]
    public void Setup()
    {
        services = MediatorSetup.Build();
        mediator = services.GetRequiredService<global::Mediator.Mediator>();
    }

    [GlobalCleanup]
    public void Cleanup() => services.Dispose();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(mediator.Publish(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(mediator.Publish(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public Unit Send() => Completion.Wait(mediator.Send(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(mediator.Send(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await mediator.Publish(Samples.AsyncPing);
        }
    }
}

internal static class MediatorSetup
{
    /// <summary>Singleton lifetime: Mediator's fastest configuration, the one its own benchmarks lead with.</summary>
    public static ServiceProvider Build()
    {
        ServiceCollection services = new();
        services.AddMediator(options => options.ServiceLifetime = ServiceLifetime.Singleton);
        return services.BuildServiceProvider();
    }
}

public sealed class MediatorPingHandler : INotificationHandler<Ping>
{
    public ValueTask Handle(Ping notification, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class MediatorBroadcastHandler1 : INotificationHandler<Broadcast>
{
    public ValueTask Handle(Broadcast notification, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class MediatorBroadcastHandler2 : INotificationHandler<Broadcast>
{
    public ValueTask Handle(Broadcast notification, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class MediatorBroadcastHandler3 : INotificationHandler<Broadcast>
{
    public ValueTask Handle(Broadcast notification, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class MediatorAsyncPingHandler : INotificationHandler<AsyncPing>
{
    public ValueTask Handle(AsyncPing notification, CancellationToken cancellationToken) => Work.HitAsync();
}

public sealed class MediatorDoWorkHandler : ICommandHandler<DoWork>
{
    public ValueTask<Unit> Handle(DoWork command, CancellationToken cancellationToken)
    {
        Work.Hit();
        return default;
    }
}

public sealed class MediatorQueryHandler : IRequestHandler<Query, Answer>
{
    public ValueTask<Answer> Handle(Query request, CancellationToken cancellationToken)
    {
        Work.Hit();
        return new ValueTask<Answer>(Answer.Cached);
    }
}
