using Switchboard.Dispatch;
using Switchboard.Routing;
using Switchboard.Streams;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    public Subscription Subscribe<T>(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Subscription subscription = new(typeof(T).Name);
        return AddSubscription(subscription, new ActionInvoker<T>(handler, $"subscriber of {typeof(T).Name}") { Subscription = subscription });
    }

    public Subscription Subscribe<T>(Func<T, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Subscription subscription = new(typeof(T).Name);
        return AddSubscription(subscription, new AsyncInvoker<T>(handler, $"subscriber of {typeof(T).Name}") { Subscription = subscription });
    }

    public Subscription Subscribe<T>(IHandler<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Subscription subscription = new(typeof(T).Name);
        return AddSubscription(subscription, new InstanceInvoker<T>(handler) { Subscription = subscription });
    }

    public Subscription Subscribe(string pattern, Action<TopicMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Subscribe(pattern, (message, _) =>
        {
            handler(message);
            return default;
        });
    }

    public Subscription Subscribe(string pattern, Func<TopicMessage, CancellationToken, ValueTask> handler)
    {
        TopicPattern parsed = TopicPattern.Parse(pattern);
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfStopped();
        Subscription subscription = new(pattern);
        subscription.Activate(_topics.Remove);
        _topics.Add(new TopicTable.Entry(parsed, handler, subscription));
        return subscription;
    }

    public Subscription SubscribeAll(IProjection projection)
    {
        ArgumentNullException.ThrowIfNull(projection);
        IReadOnlyCollection<Type> types = projection.SubscribedTo
            ?? throw new ArgumentException($"{projection.GetType().Name}.SubscribedTo returned null.", nameof(projection));
        if (types.Count == 0)
        {
            throw new ArgumentException($"{projection.GetType().Name}.SubscribedTo is empty, so the projection would receive nothing.", nameof(projection));
        }

        foreach (Type? type in types)
        {
            if (type is null)
            {
                throw new ArgumentException($"{projection.GetType().Name}.SubscribedTo contains null.", nameof(projection));
            }
        }

        Subscription subscription = new($"{projection.GetType().Name} ({string.Join(", ", types.Select(t => t.Name))})");
        HandlerInvoker[] invokers = [.. types.Distinct().Select(type => new ProjectionInvoker(type, projection) { Subscription = subscription })];
        return AddSubscription(subscription, invokers);
    }

    public Subscription SubscribeToAll(Func<object, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Subscription subscription = new("*");
        return AddSubscription(subscription, new CatchAllInvoker(handler, "subscriber of every event") { Subscription = subscription });
    }

    public EventStream<T> Stream<T>(StreamOptions? options = null)
    {
        options ??= StreamOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Capacity, "options.Capacity");
        ThrowIfStopped();
        Subscription subscription = new($"stream of {typeof(T).Name}");
        EventStream<T> stream = new(options, subscription, RemoveStream);
        lock (_gate)
        {
            _streams.Add(stream);
        }

        AddSubscription(subscription, new StreamInvoker<T>(stream) { Subscription = subscription });
        return stream;
    }

    internal Subscription AddSubscription(Subscription subscription, params HandlerInvoker[] invokers)
    {
        ThrowIfStopped();
        lock (_gate)
        {
            // Off the publish fast path first, then active, then visible: the first publish to see it also invokes it.
            Volatile.Write(ref _publishRoutes, null);
            subscription.Activate(RemoveSubscription);
            _subscriptions.Add(invokers);
        }

        return subscription;
    }

    private void RemoveSubscription(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions.Remove(subscription);
            if (_parent is null && _subscriptions.IsEmpty && Volatile.Read(ref _state) == Running)
            {
                // The last one gone: publishes take the fast path again.
                Volatile.Write(ref _publishRoutes, _runtime.Router.Table);
            }
        }
    }

    private void RemoveStream(IStreamSink stream)
    {
        lock (_gate)
        {
            _streams.Remove(stream);
        }
    }
}
