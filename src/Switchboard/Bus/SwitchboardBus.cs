using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Routing;
using Switchboard.Streams;

namespace Switchboard.Bus;

/// <summary>
/// The bus. Split by concern: publishing (<c>.Publish.cs</c>), the dispatch core (<c>.Dispatch.cs</c>), commands and
/// requests (<c>.Send.cs</c>), the queue path of <c>ExecuteAsync</c> (<c>.Execute.cs</c>), runtime subscriptions
/// (<c>.Subscribe.cs</c>) and shutdown (<c>.Shutdown.cs</c>). A scope is another instance over the same runtime.
/// </summary>
internal sealed partial class SwitchboardBus : IMessageBus, IMessageDispatcher
{
    private const int Running = 0;
    private const int Stopping = 1;
    private const int Stopped = 2;

    private readonly BusRuntime _runtime;
    private readonly SwitchboardBus? _parent;
    private readonly SubscriptionTable _subscriptions = new();
    private readonly TopicTable _topics = new();
    private readonly InFlightTracker _inFlight = new();
    private readonly Lock _gate = new();
    private readonly List<SwitchboardBus> _scopes = [];
    private readonly List<IStreamSink> _streams = [];
    private int _state;

    /// <summary>
    /// The table the publish fast path looks events up in: the router's while this is the root bus, running, without
    /// runtime subscriptions; <see langword="null"/> otherwise. One field read decides all of that on every publish.
    /// Written under <see cref="_gate"/> (subscribing, unsubscribing, shutting down).
    /// </summary>
    private TypeMap<MessageRoute>? _publishRoutes;

    /// <summary>The same for send and request: the router's table while this is the root bus and running.</summary>
    private TypeMap<MessageRoute>? _sendRoutes;

    /// <summary><see cref="BusOptions.EnableStatistics"/>, read once: the fast paths skip the thread-local count when off.</summary>
    private readonly bool _statistics;

    public SwitchboardBus(BusRuntime runtime, SwitchboardBus? parent, string name)
    {
        _runtime = runtime;
        _parent = parent;
        Name = name;
        _statistics = runtime.Options.EnableStatistics;
        if (parent is null)
        {
            // Scopes count their own statistics, so they never take the fast paths, which count on the shared routes.
            _publishRoutes = runtime.Router.Table;
            _sendRoutes = runtime.Router.Table;
            runtime.Background.AttachRoot(this);
        }
    }

    public string Name { get; }

    SwitchboardBus IMessageBus.Core => this;

    internal StatisticsCounters Counters { get; } = new();

    internal BusRuntime Runtime => _runtime;

    public BusStatistics GetStatistics()
    {
        Dictionary<string, TransportStatistics> transports = [];
        if (_parent is null)
        {
            transports[_runtime.Transport.Name] = _runtime.TransportCounters.Snapshot();
        }

        if (!_statistics)
        {
            // The slow paths still count (it costs them nothing measurable); the fast paths do not, so no count is whole.
            return new BusStatistics { Transports = transports };
        }

        return _parent is null
            ? Counters.Snapshot(transports, _runtime.Background)
            : Counters.Snapshot(transports, null);
    }

    public IMessageBus CreateScope(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfStopped();
        SwitchboardBus scope = new(_runtime, this, $"{Name}/{name}");
        lock (_gate)
        {
            _scopes.Add(scope);
        }

        return scope;
    }

    private Outbox.TransactionalOutbox? _outbox;

    /// <summary>Gets the outbox of the root bus (scopes share it), or <see langword="null"/>.</summary>
    public Outbox.TransactionalOutbox? Outbox => _parent is null ? _outbox : _parent.Outbox;

    internal void AttachOutbox(Outbox.TransactionalOutbox outbox) => _outbox = outbox;

    void IMessageDispatcher.EnsureCommandHandler(Type commandType)
    {
        // With outgoing middleware, the pipeline may answer, record or drop the command (a TestBus does), so the check is
        // left to its end, as for a command sent directly.
        MessageRoute route = _runtime.Router.GetRoute(commandType);
        if (route.CommandHandler is null && route.Destination is null && route.Outgoing is null)
        {
            throw route.CommandHandlerError("SendAsync");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowNull(string parameter) => throw new ArgumentNullException(parameter);

    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _state) != Running)
        {
            ThrowStopped();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowStopped()
        => throw new BusStoppedException(
            Volatile.Read(ref _state) == Stopping
                ? $"The bus '{Name}' is shutting down and no longer accepts messages or subscriptions."
                : $"The bus '{Name}' has been shut down; create a new bus to send more messages.");

    public override string ToString() => Name;
}
