using System.Diagnostics;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>
/// Not a library: the least a bus keeping Switchboard's contract can do per dispatch, written by hand so that the page can
/// show where a target lies against it. Each message type has its own method bound at compile time (as Mediator's
/// concrete class and a generated typed path would be): a state check, a gate that a runtime subscription, a middleware or
/// a trace listener would close, the exact per-bus statistics that <c>IMessageBus.GetStatistics()</c> promises by default
/// (counted in the calling thread's slot: one thread-local read and plain increments, the cheapest exact way measured; an
/// atomic add costs more), then the same class handlers as <see cref="SwitchboardGeneratedBenchmarks"/>, called directly.
/// No route lookup, no invoker, no exception handling. Measured in docs/dev-notes/issue-14.md (sixth session).
/// </summary>
public class FloorBenchmarks
{
    private readonly FloorBus bus = new(statistics: true);

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(bus.PublishAsync(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(bus.PublishAsync(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.SendAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.RequestAsync(Samples.Query));
}

/// <summary>The same floor without the statistics: what is left is the state check, the gate and the direct call.</summary>
public class FloorNoStatisticsBenchmarks
{
    private readonly FloorBus bus = new(statistics: false);

    [Benchmark, BenchmarkCategory(Cases.Publish1)]
    public void Publish1() => Completion.Wait(bus.PublishAsync(Samples.Ping));

    [Benchmark, BenchmarkCategory(Cases.Publish3)]
    public void Publish3() => Completion.Wait(bus.PublishAsync(Samples.Broadcast));

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.SendAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.RequestAsync(Samples.Query));
}

/// <summary>
/// The floor with one no-op middleware of the <c>(context, next)</c> shape issue 17 asks for: a context the middleware may
/// keep across its awaits, leased from the thread's slot (read already for the statistics), the message stored in it, the
/// middleware called through its interface with a ready-made <c>next</c>, the handler bound at compile time behind it.
/// </summary>
public class FloorMiddlewareBenchmarks
{
    private readonly FloorBus bus = new(statistics: true);

    [Benchmark, BenchmarkCategory(Cases.Send)]
    public void Send() => Completion.Wait(bus.SendThroughMiddlewareAsync(Samples.DoWork));

    [Benchmark, BenchmarkCategory(Cases.Request)]
    public Answer Request() => Completion.Wait(bus.RequestThroughMiddlewareAsync(Samples.Query));
}

/// <summary>The <c>next</c> of the floor's middleware shape.</summary>
public delegate ValueTask FloorNext(FloorContext context);

/// <summary>The floor's middleware shape: <c>(context, next)</c>.</summary>
public interface IFloorMiddleware
{
    /// <summary>Runs around the rest of the chain.</summary>
    ValueTask InvokeAsync(FloorContext context, FloorNext next);
}

/// <summary>The least an incoming context holds: the message, the token, the result, and whether it is in use.</summary>
public sealed class FloorContext
{
    public object Message { get; set; } = null!;

    public CancellationToken CancellationToken { get; set; }

    public object? Result { get; set; }

    public bool Leased { get; set; }
}

/// <summary>A middleware that only calls the next step.</summary>
public sealed class NoOpFloorMiddleware : IFloorMiddleware
{
    public ValueTask InvokeAsync(FloorContext context, FloorNext next) => next(context);
}

/// <summary>The hand-written floor (see <see cref="FloorBenchmarks"/>).</summary>
public sealed class FloorBus
{
    private static readonly ActivitySource Source = new("Switchboard.Benchmarks.Floor");

    [ThreadStatic]
    private static Slot? t_slot;

    private readonly bool statistics;
    private readonly SwitchboardPingHandler ping = new();
    private readonly SwitchboardBroadcastHandler1 broadcast1 = new();
    private readonly SwitchboardBroadcastHandler2 broadcast2 = new();
    private readonly SwitchboardBroadcastHandler3 broadcast3 = new();
    private readonly SwitchboardDoWorkHandler doWork = new();
    private readonly SwitchboardQueryHandler query = new();
    private readonly IFloorMiddleware middleware = new NoOpFloorMiddleware();
    private readonly FloorNext doWorkStep;
    private readonly FloorNext queryStep;
    private volatile int state;
    private volatile bool pingDirect = true, broadcastDirect = true, doWorkDirect = true, queryDirect = true;

    public FloorBus(bool statistics)
    {
        this.statistics = statistics;
        doWorkStep = context => doWork.HandleAsync(Unsafe.As<DoWork>(context.Message), null!, context.CancellationToken);
        queryStep = context =>
        {
            ValueTask<Answer> pending = query.HandleAsync(Unsafe.As<Query>(context.Message), null!, context.CancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return Stopped();
            }

            context.Result = pending.Result;
            return default;
        };
    }

    /// <summary>The counts, added up over the threads that dispatched (as <c>GetStatistics()</c> does).</summary>
    public long HandlersInvoked => t_slot is { } slot && ReferenceEquals(slot.Owner, this) ? slot.HandlersInvoked : 0;

    /// <summary>Closes every gate (as a runtime subscription, a middleware or a stop would).</summary>
    public void Close()
    {
        state = 1;
        pingDirect = broadcastDirect = doWorkDirect = queryDirect = false;
    }

    private Slot Local
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Slot? slot = t_slot;
            return slot is not null && ReferenceEquals(slot.Owner, this) ? slot : Attach();
        }
    }

    public ValueTask PublishAsync(Ping message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !pingDirect || Source.HasListeners())
        {
            return Stopped();
        }

        if (statistics)
        {
            Local.CountPublish(1);
        }

        return ping.HandleAsync(message, null!, cancellationToken);
    }

    public ValueTask PublishAsync(Broadcast message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !broadcastDirect || Source.HasListeners())
        {
            return Stopped();
        }

        if (statistics)
        {
            Local.CountPublish(3);
        }

        ValueTask first = broadcast1.HandleAsync(message, null!, cancellationToken);
        ValueTask second = first.IsCompletedSuccessfully ? broadcast2.HandleAsync(message, null!, cancellationToken) : Stopped();
        return second.IsCompletedSuccessfully ? broadcast3.HandleAsync(message, null!, cancellationToken) : Stopped();
    }

    public ValueTask SendAsync(DoWork message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !doWorkDirect || Source.HasListeners())
        {
            return Stopped();
        }

        if (statistics)
        {
            Local.CountSend();
        }

        return doWork.HandleAsync(message, null!, cancellationToken);
    }

    public ValueTask<Answer> RequestAsync(Query message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !queryDirect || Source.HasListeners())
        {
            return StoppedRequest();
        }

        if (statistics)
        {
            Local.CountRequest();
        }

        return query.HandleAsync(message, null!, cancellationToken);
    }

    public ValueTask SendThroughMiddlewareAsync(DoWork message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !doWorkDirect || Source.HasListeners())
        {
            return Stopped();
        }

        Slot slot = Local;
        slot.CountSend();
        FloorContext context = Rent(slot, message, cancellationToken);
        ValueTask pending = middleware.InvokeAsync(context, doWorkStep);
        if (!pending.IsCompletedSuccessfully)
        {
            return Stopped();
        }

        context.Message = null!;
        context.Leased = false;
        return pending;
    }

    public ValueTask<Answer> RequestThroughMiddlewareAsync(Query message, CancellationToken cancellationToken = default)
    {
        if (state != 0 || !queryDirect || Source.HasListeners())
        {
            return StoppedRequest();
        }

        Slot slot = Local;
        slot.CountRequest();
        FloorContext context = Rent(slot, message, cancellationToken);
        ValueTask pending = middleware.InvokeAsync(context, queryStep);
        if (!pending.IsCompletedSuccessfully)
        {
            return StoppedRequest();
        }

        Answer answer = Unsafe.As<Answer>(context.Result!);
        context.Message = null!;
        context.Result = null;
        context.Leased = false;
        return new ValueTask<Answer>(answer);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FloorContext Rent(Slot slot, object message, CancellationToken cancellationToken)
    {
        FloorContext? context = slot.Context;
        if (context is null || context.Leased)
        {
            context = new FloorContext();
            slot.Context = context;
        }

        context.Leased = true;
        context.Message = message;
        if (!context.CancellationToken.Equals(cancellationToken))
        {
            context.CancellationToken = cancellationToken;
        }

        return context;
    }

    // The floor measures the open path only; a closed gate would go to the full dispatch.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValueTask Stopped() => ValueTask.FromException(new InvalidOperationException("The floor bus is closed."));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValueTask<Answer> StoppedRequest() => ValueTask.FromException<Answer>(new InvalidOperationException("The floor bus is closed."));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Slot Attach() => t_slot = new Slot(this);

    /// <summary>One thread's counters for one bus, padded against false sharing (as Switchboard's).</summary>
    private sealed class Slot(FloorBus owner)
    {
        public readonly FloorBus Owner = owner;
#pragma warning disable CS0169, IDE0051 // padding against false sharing
        private readonly long padBefore0, padBefore1, padBefore2, padBefore3, padBefore4, padBefore5, padBefore6;
#pragma warning restore CS0169, IDE0051
        public long EventsPublished;
        public long CommandsSent;
        public long RequestsSent;
        public long HandlersInvoked;
        public FloorContext? Context;
#pragma warning disable CS0169, IDE0051
        private readonly long padAfter0, padAfter1, padAfter2, padAfter3, padAfter4, padAfter5, padAfter6;
#pragma warning restore CS0169, IDE0051

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void CountPublish(int handlers)
        {
            EventsPublished++;
            HandlersInvoked += handlers;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void CountSend()
        {
            CommandsSent++;
            HandlersInvoked++;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void CountRequest()
        {
            RequestsSent++;
            HandlersInvoked++;
        }
    }
}
