using BenchmarkDotNet.Attributes;
using MassTransit;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using MtMediator = MassTransit.Mediator.IMediator;

namespace Switchboard.Benchmarks;

/// <summary>
/// The cost of one middleware that does nothing but call the next step, for each library's own shape: Switchboard's
/// incoming middleware (around every handler), Mediator's <c>IPipelineBehavior</c> (requests and commands; Mediator has
/// none for notifications) and MassTransit's consume filter. Compared with the same library without it.
/// </summary>
public class SwitchboardMiddlewareBenchmarks
{
    private IMessageBus bus = null!;

    [GlobalSetup]
    public void Setup()
    {
        NoOpMiddleware middleware = new();
        bus = MessageBus.Create(b =>
        {
            b.UseIncoming(middleware);
            b.Handle<Ping>(static _ => Work.Hit());
            b.Handle<DoWork>(static _ => Work.Hit());
            b.Handle<Query, Answer>(static _ =>
            {
                Work.Hit();
                return Answer.Cached;
            });
        });
        bus.SendAsync(Samples.DoWork).AsTask().GetAwaiter().GetResult();
        if (middleware.Calls != 1)
        {
            throw new InvalidOperationException("The Switchboard middleware did not run.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => bus.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(bus.PublishAsync(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.SendAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.RequestAsync(Samples.Query));

    private sealed class NoOpMiddleware : IIncomingMiddleware
    {
        public int Calls;

        public ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
        {
            if (Calls == 0)
            {
                Calls = 1;
            }

            return next(context);
        }
    }
}

/// <summary>Mediator 3 through <see cref="IMediator"/> with one no-op <c>IPipelineBehavior</c> registered for every message.</summary>
public class MediatorBehaviorBenchmarks
{
    private ServiceProvider services = null!;
    private IMediator mediator = null!;

    [GlobalSetup]
    public void Setup()
    {
        ServiceCollection collection = new();
        collection.AddMediator(options => options.ServiceLifetime = ServiceLifetime.Singleton);
        collection.AddSingleton(typeof(IPipelineBehavior<,>), typeof(NoOpBehavior<,>));
        services = collection.BuildServiceProvider();
        mediator = services.GetRequiredService<IMediator>();
        mediator.Send(Samples.DoWork).AsTask().GetAwaiter().GetResult();
        if (NoOpBehaviorCalls.Value == 0)
        {
            throw new InvalidOperationException("Mediator's pipeline behaviour did not run.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => services.Dispose();

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public Unit Send() => Completion.Wait(mediator.Send(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(mediator.Send(Samples.Query));
}

public static class NoOpBehaviorCalls
{
    public static int Value;
}

public sealed class NoOpBehavior<TMessage, TResponse> : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        if (NoOpBehaviorCalls.Value == 0)
        {
            NoOpBehaviorCalls.Value = 1;
        }

        return next(message, cancellationToken);
    }
}

/// <summary>MassTransit 8.5 mediator with one no-op consume filter for every message.</summary>
public class MassTransitFilterBenchmarks
{
    private ServiceProvider services = null!;
    private MtMediator mediator = null!;
    private IRequestClient<Query> requestClient = null!;

    [GlobalSetup]
    public void Setup()
    {
        ServiceCollection collection = new();
        DependencyInjectionRegistrationExtensions.AddMediator(collection, cfg =>
        {
            cfg.AddConsumer<MassTransitPingConsumer>();
            cfg.AddConsumer<MassTransitDoWorkConsumer>();
            cfg.AddConsumer<MassTransitQueryConsumer>();
            cfg.ConfigureMediator((context, mediatorConfig) => mediatorConfig.UseConsumeFilter(typeof(NoOpConsumeFilter<>), context));
        });
        services = collection.BuildServiceProvider();
        mediator = services.GetRequiredService<MtMediator>();
        requestClient = mediator.CreateRequestClient<Query>();
        mediator.Send(Samples.DoWork).GetAwaiter().GetResult();
        if (NoOpConsumeFilterCalls.Value == 0)
        {
            throw new InvalidOperationException("MassTransit's consume filter did not run.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => services.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(mediator.Publish(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(mediator.Send(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Response<Answer> Request() => Completion.Wait(requestClient.GetResponse<Answer>(Samples.Query));
}

public static class NoOpConsumeFilterCalls
{
    public static int Value;
}

public sealed class NoOpConsumeFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (NoOpConsumeFilterCalls.Value == 0)
        {
            NoOpConsumeFilterCalls.Value = 1;
        }

        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("no-op");
}
