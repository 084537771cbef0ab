using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using WolverineBus = Wolverine.IMessageBus;

namespace Switchboard.Benchmarks;

/// <summary>
/// Wolverine in its mediator mode: <c>InvokeAsync</c> runs the handlers inline and returns when they are done,
/// the same contract as every other contender here. (Its <c>PublishAsync</c> enqueues to a local queue: that
/// is measured with the background publishes, in <see cref="WolverineBackgroundBenchmarks"/>.)
/// </summary>
public class WolverineBenchmarks
{
    private IHost host = null!;
    private WolverineBus bus = null!;

    [GlobalSetup]
    public void Setup()
    {
        host = WolverineSetup.Start(DurabilityMode.MediatorOnly);
        bus = host.Services.GetRequiredService<WolverineBus>();
        // Wolverine compiles each handler chain on first use; do it here, not in the first iteration.
        bus.InvokeAsync(Samples.Ping).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        host.StopAsync().GetAwaiter().GetResult();
        host.Dispose();
    }

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(bus.InvokeAsync(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(bus.InvokeAsync(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.InvokeAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.InvokeAsync<Answer>(Samples.Query));

    [Benchmark(OperationsPerInvoke = Samples.AsyncBatch), BenchmarkCategory(Cases.AsyncHandler)]
    public async Task AsyncHandler()
    {
        for (int i = 0; i < Samples.AsyncBatch; i++)
        {
            await bus.InvokeAsync(Samples.AsyncPing);
        }
    }
}

/// <summary>Wolverine's <c>PublishAsync</c> to a local (in-memory, non-durable) queue: its fire-and-forget publish.</summary>
[ProcessCount(Samples.ThroughputProcesses)]
public class WolverineBackgroundBenchmarks
{
    private IHost host = null!;
    private WolverineBus bus = null!;

    [GlobalSetup]
    public void Setup()
    {
        host = WolverineSetup.Start(DurabilityMode.Solo);
        bus = host.Services.GetRequiredService<WolverineBus>();
        long target = Work.Count + 1;
        bus.PublishAsync(Samples.Tick).AsTask().GetAwaiter().GetResult();
        Work.WaitFor(target);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        host.StopAsync().GetAwaiter().GetResult();
        host.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Samples.Batch), BenchmarkCategory(Cases.Background)]
    public async Task Background()
    {
        long target = Work.Count + Samples.Batch;
        for (int i = 0; i < Samples.Batch; i++)
        {
            await bus.PublishAsync(Samples.Tick);
        }

        Work.WaitFor(target);
    }
}

internal static class WolverineSetup
{
    public static IHost Start(DurabilityMode mode)
    {
        IHost host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseWolverine(opts =>
            {
                opts.Durability.Mode = mode;
                // Only the Wolverine handlers: by convention it would also pick up the other libraries' handlers.
                opts.Discovery.DisableConventionalDiscovery()
                    .IncludeType<WolverinePingHandler>()
                    .IncludeType<WolverineBroadcastHandler1>()
                    .IncludeType<WolverineBroadcastHandler2>()
                    .IncludeType<WolverineBroadcastHandler3>()
                    .IncludeType<WolverineAsyncPingHandler>()
                    .IncludeType<WolverineDoWorkHandler>()
                    .IncludeType<WolverineQueryHandler>()
                    .IncludeType<WolverineTickHandler>();
            })
            .Build();
        host.StartAsync().GetAwaiter().GetResult();
        return host;
    }
}

public sealed class WolverinePingHandler
{
    public void Handle(Ping message) => Work.Hit();
}

public sealed class WolverineBroadcastHandler1
{
    public void Handle(Broadcast message) => Work.Hit();
}

public sealed class WolverineBroadcastHandler2
{
    public void Handle(Broadcast message) => Work.Hit();
}

public sealed class WolverineBroadcastHandler3
{
    public void Handle(Broadcast message) => Work.Hit();
}

public sealed class WolverineAsyncPingHandler
{
    public ValueTask Handle(AsyncPing message) => Work.HitAsync();
}

public sealed class WolverineDoWorkHandler
{
    public void Handle(DoWork message) => Work.Hit();
}

public sealed class WolverineQueryHandler
{
    public Answer Handle(Query message)
    {
        Work.Hit();
        return Answer.Cached;
    }
}

public sealed class WolverineTickHandler
{
    public void Handle(Tick message) => Work.HitShared();
}
