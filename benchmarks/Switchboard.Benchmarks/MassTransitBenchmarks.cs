using BenchmarkDotNet.Attributes;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MtMediator = MassTransit.Mediator.IMediator;

namespace Switchboard.Benchmarks;

/// <summary>MassTransit 8.5 mediator (in process, no transport): Publish, Send and a request client.</summary>
public class MassTransitBenchmarks
{
    private ServiceProvider services = null!;
    private MtMediator mediator = null!;
    private IRequestClient<Query> requestClient = null!;

    [GlobalSetup]
    public void Setup()
    {
        ServiceCollection collection = new();
        // Called by its class name: Mediator's generated AddMediator lives on the same type.
        DependencyInjectionRegistrationExtensions.AddMediator(collection, cfg =>
        {
            cfg.AddConsumer<MassTransitPingConsumer>();
            cfg.AddConsumer<MassTransitBroadcastConsumer1>();
            cfg.AddConsumer<MassTransitBroadcastConsumer2>();
            cfg.AddConsumer<MassTransitBroadcastConsumer3>();
            cfg.AddConsumer<MassTransitAsyncPingConsumer>();
            cfg.AddConsumer<MassTransitDoWorkConsumer>();
            cfg.AddConsumer<MassTransitQueryConsumer>();
        });
        services = collection.BuildServiceProvider();
        mediator = services.GetRequiredService<MtMediator>();
        requestClient = mediator.CreateRequestClient<Query>();
    }

    [GlobalCleanup]
    public void Cleanup() => services.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(mediator.Publish(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(mediator.Publish(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(mediator.Send(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Response<Answer> Request() => Completion.Wait(requestClient.GetResponse<Answer>(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await mediator.Publish(Samples.AsyncPing);
        }
    }
}

public sealed class MassTransitPingConsumer : IConsumer<Ping>
{
    public Task Consume(ConsumeContext<Ping> context)
    {
        Work.Hit();
        return Task.CompletedTask;
    }
}

public sealed class MassTransitBroadcastConsumer1 : IConsumer<Broadcast>
{
    public Task Consume(ConsumeContext<Broadcast> context)
    {
        Work.Hit();
        return Task.CompletedTask;
    }
}

public sealed class MassTransitBroadcastConsumer2 : IConsumer<Broadcast>
{
    public Task Consume(ConsumeContext<Broadcast> context)
    {
        Work.Hit();
        return Task.CompletedTask;
    }
}

public sealed class MassTransitBroadcastConsumer3 : IConsumer<Broadcast>
{
    public Task Consume(ConsumeContext<Broadcast> context)
    {
        Work.Hit();
        return Task.CompletedTask;
    }
}

public sealed class MassTransitAsyncPingConsumer : IConsumer<AsyncPing>
{
    public Task Consume(ConsumeContext<AsyncPing> context) => Work.HitAsync().AsTask();
}

public sealed class MassTransitDoWorkConsumer : IConsumer<DoWork>
{
    public Task Consume(ConsumeContext<DoWork> context)
    {
        Work.Hit();
        return Task.CompletedTask;
    }
}

public sealed class MassTransitQueryConsumer : IConsumer<Query>
{
    public Task Consume(ConsumeContext<Query> context)
    {
        Work.Hit();
        return context.RespondAsync(Answer.Cached);
    }
}
