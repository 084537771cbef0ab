using System.Collections.Concurrent;
using System.Threading.Channels;
using Switchboard.Bus;
using Switchboard.Dispatch;
using Switchboard.Routing;

namespace Switchboard.Tests.Dispatch;

public sealed record Fan(int N);

/// <summary>
/// Generated class handlers of one event on a standalone bus run fused: one call runs them all while they complete
/// synchronously. What a publish does must not change with it: the same order, the same failures reported for the same
/// handlers, the same statistics as the same handlers run one by one (here: asynchronous delegate handlers, which are
/// never fused), whatever completes synchronously, later, faults or is cancelled in the middle of the run.
/// </summary>
public sealed class FusedCompiledHandlerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    public static TheoryData<string, HandlerErrorMode> Scripts()
    {
        TheoryData<string, HandlerErrorMode> data = [];
        string[] scripts =
        [
            "ok ok ok ok",
            "throw ok ok ok",
            "ok throw ok throw",
            "ok fault ok ok",
            "throw fault throw fault",
            "ok later ok ok",
            "later later later later",
            "ok later throw ok",
            "ok later-fault ok fault",
            "later ok ok later-fault",
            "ok later-cancel ok ok",
            "ok ok ok later-cancel",
            "throw-cancel ok ok ok",
        ];
        foreach (string script in scripts)
        {
            data.Add(script, HandlerErrorMode.Throw);
            data.Add(script, HandlerErrorMode.Isolate);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Publish_ToFusedGeneratedHandlers_BehavesAsTheSameHandlersRunOneByOne(string script, HandlerErrorMode mode)
    {
        string[] steps = script.Split(' ');

        string fused = await PublishAsync(steps, compiled: true, mode);
        string oneByOne = await PublishAsync(steps, compiled: false, mode);

        Assert.Equal(oneByOne, fused);
    }

    [Fact]
    public async Task Publish_WithAFailureAfterAHandlerThatCompletedLater_RunsAllInOrderAndReportsTheFailure()
    {
        string outcome = await PublishAsync(["ok", "later", "throw", "ok"], compiled: true, HandlerErrorMode.Throw);

        Assert.Equal("ran 1,2,3,4; threw AggregateException [step 3]; published 1, invoked 4, errors 1", outcome);
    }

    [Fact]
    public async Task Publish_CancelledByTheCallerWhileAFusedHandlerIsPending_StopsThereAndCountsOnlyWhatRan()
    {
        string outcome = await PublishAsync(["ok", "later-cancel", "ok", "ok"], compiled: true, HandlerErrorMode.Isolate);

        Assert.Equal("ran 1,2; threw TaskCanceledException; published 1, invoked 2, errors 0", outcome);
    }

    [Fact]
    public async Task GeneratedHandlersOfOneType_WithoutContext_RunAsOneInvoker()
    {
        FanScript script = new([]);
        await using IMessageBus bus = Build(script, HandlerErrorMode.Isolate, CompiledHandlerFlags.None);

        HandlerInvoker[] fast = RouteOf(bus).FastHandlers;

        HandlerInvoker fusedRun = Assert.Single(fast);
        Assert.IsType<FusedCompiledInvoker<Fan>>(fusedRun);
        Assert.Equal("FanStep1+FanStep2+FanStep3+FanStep4", fusedRun.Name);
        Assert.Equal([0], RouteOf(bus).FastStarts);
    }

    [Fact]
    public async Task AGeneratedHandlerThatReadsItsContext_IsNotFused_AndSplitsTheRun()
    {
        FanScript script = new([]);
        await using IMessageBus bus = MessageBus.Create(b => b
            .AddCompiledHandler<FanStep1, Fan>(_ => new FanStep1(script), CompiledHandlerFlags.None)
            .AddCompiledHandler<FanStep2, Fan>(_ => new FanStep2(script), CompiledHandlerFlags.None)
            .AddCompiledHandler<FanStep3, Fan>(_ => new FanStep3(script), CompiledHandlerFlags.UsesContext)
            .AddCompiledHandler<FanStep4, Fan>(_ => new FanStep4(script), CompiledHandlerFlags.None));

        Assert.Equal(["FanStep1+FanStep2", "FanStep3", "FanStep4"], RouteOf(bus).FastHandlers.Select(h => h.Name));
        Assert.Equal([0, 2, 3], RouteOf(bus).FastStarts);
    }

    [Fact]
    public async Task GeneratedHandlersAroundADelegate_AreFusedOnlyWithTheirNeighbours_AndRunInRegistrationOrder()
    {
        FanScript script = new(["ok", "ok", "ok", "ok"]);
        await using IMessageBus bus = MessageBus.Create(b => b
            .AddCompiledHandler<FanStep1, Fan>(_ => new FanStep1(script), CompiledHandlerFlags.None)
            .AddCompiledHandler<FanStep2, Fan>(_ => new FanStep2(script), CompiledHandlerFlags.None)
            .Handle<Fan>(_ => script.Ran.Enqueue(0))
            .AddCompiledHandler<FanStep3, Fan>(_ => new FanStep3(script), CompiledHandlerFlags.None)
            .AddCompiledHandler<FanStep4, Fan>(_ => new FanStep4(script), CompiledHandlerFlags.None));

        await bus.PublishAsync(new Fan(1));

        Assert.Equal([1, 2, 0, 3, 4], script.Ran);
        Assert.Equal(3, RouteOf(bus).FastHandlers.Length);
        Assert.Equal(5, bus.GetStatistics().HandlersInvoked);
    }

    /// <summary>Publishes one event to four handlers following <paramref name="steps"/> and describes what happened.</summary>
    private static async Task<string> PublishAsync(string[] steps, bool compiled, HandlerErrorMode mode)
    {
        FanScript script = new(steps);
        await using IMessageBus bus = compiled
            ? Build(script, mode, CompiledHandlerFlags.None)
            : MessageBus.Create(b =>
            {
                b.Options.HandlerErrors = mode;
                for (int n = 1; n <= 4; n++)
                {
                    int position = n;
                    b.Handle<Fan>((_, ct) => script.Run(position, ct));
                }
            });
        Assert.Equal(compiled ? 1 : 4, RouteOf(bus).FastHandlers.Length);

        ValueTask publish = bus.PublishAsync(new Fan(1), cancellationToken: script.Cancel.Token);
        Task publishing = publish.AsTask();
        while (!publishing.IsCompleted)
        {
            // A handler that completes later hands its task here; it is completed as its step says.
            Task<(int Position, TaskCompletionSource Task)> next = script.Pending.Reader.ReadAsync().AsTask();
            if (await Task.WhenAny(next, publishing).WaitAsync(Generous) == next)
            {
                (int position, TaskCompletionSource pending) = await next;
                script.Complete(position, pending);
            }
        }

        string thrown;
        try
        {
            await publishing;
            thrown = "nothing";
        }
        catch (AggregateException error)
        {
            thrown = $"AggregateException [{string.Join(", ", error.InnerExceptions.Select(e => e.Message))}]";
        }
        catch (Exception error)
        {
            thrown = error.GetType().Name;
        }

        BusStatistics stats = bus.GetStatistics();
        return $"ran {string.Join(',', script.Ran)}; threw {thrown}; published {stats.EventsPublished}, invoked {stats.HandlersInvoked}, errors {stats.HandlerErrors}";
    }

    private static IMessageBus Build(FanScript script, HandlerErrorMode mode, CompiledHandlerFlags flags)
        => MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = mode;
            b.AddCompiledHandler<FanStep1, Fan>(_ => new FanStep1(script), flags)
                .AddCompiledHandler<FanStep2, Fan>(_ => new FanStep2(script), flags)
                .AddCompiledHandler<FanStep3, Fan>(_ => new FanStep3(script), flags)
                .AddCompiledHandler<FanStep4, Fan>(_ => new FanStep4(script), flags);
        });

    private static MessageRoute RouteOf(IMessageBus bus) => ((SwitchboardBus)bus).Runtime.Router.GetRoute(typeof(Fan));

    /// <summary>What each of the four handlers does, and what they did.</summary>
    private sealed class FanScript(string[] steps)
    {
        public ConcurrentQueue<int> Ran { get; } = new();

        public Channel<(int Position, TaskCompletionSource Task)> Pending { get; } = Channel.CreateUnbounded<(int, TaskCompletionSource)>();

        public CancellationTokenSource Cancel { get; } = new();

        public ValueTask Run(int position, CancellationToken cancellationToken)
        {
            Ran.Enqueue(position);
            switch (steps[position - 1])
            {
                case "ok":
                    return default;
                case "throw":
                    throw new InvalidOperationException($"step {position}");
                case "throw-cancel":
                    Cancel.Cancel();
                    cancellationToken.ThrowIfCancellationRequested();
                    return default;
                case "fault":
                    return ValueTask.FromException(new FormatException($"step {position}"));
                default:
                    TaskCompletionSource later = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    Assert.True(Pending.Writer.TryWrite((position, later)));
                    return new ValueTask(later.Task);
            }
        }

        public void Complete(int position, TaskCompletionSource pending)
        {
            switch (steps[position - 1])
            {
                case "later-fault":
                    pending.SetException(new ArgumentException($"step {position}"));
                    break;
                case "later-cancel":
                    Cancel.Cancel();
                    pending.SetCanceled(Cancel.Token);
                    break;
                default:
                    pending.SetResult();
                    break;
            }
        }
    }

    private abstract class FanStep(int position, FanScript script) : IHandler<Fan>
    {
        public ValueTask HandleAsync(Fan message, MessageContext context, CancellationToken cancellationToken) => script.Run(position, cancellationToken);
    }

    private sealed class FanStep1(FanScript script) : FanStep(1, script);

    private sealed class FanStep2(FanScript script) : FanStep(2, script);

    private sealed class FanStep3(FanScript script) : FanStep(3, script);

    private sealed class FanStep4(FanScript script) : FanStep(4, script);
}
