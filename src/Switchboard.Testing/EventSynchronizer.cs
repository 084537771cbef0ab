using Switchboard.Routing;

namespace Switchboard.Testing;

/// <summary>
/// Waits for events in tests without sleeps (seed 002). It records every typed and topic event published on the bus from
/// the moment it is created, so an event published before the wait began is not missed. Each recorded event satisfies
/// one wait: a second wait for the same type waits for the next one.
/// </summary>
public sealed class EventSynchronizer : IDisposable
{
    /// <summary>The wait used when none is given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly List<Recorded> _events = [];
    private readonly List<Waiter> _waiters = [];
    private readonly Subscription _typed;
    private readonly Subscription _topics;

    /// <summary>Starts recording the events published on <paramref name="bus"/>.</summary>
    /// <param name="bus">The bus (or scope) to watch.</param>
    public EventSynchronizer(IMessageBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        _typed = bus.SubscribeToAll((@event, _) =>
        {
            Record(new Recorded(@event, null));
            return default;
        });
        _topics = bus.Subscribe("#", message => Record(new Recorded(message, message.Topic)));
    }

    /// <summary>Gets every event recorded so far, in order: typed events as themselves, topic events as <see cref="TopicMessage"/>.</summary>
    public IReadOnlyList<object> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events.Select(e => e.Event)];
            }
        }
    }

    /// <summary>Waits for an event of type <typeparamref name="T"/> (or derived).</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No such event within the timeout; the message lists what was seen.</exception>
    public async Task<T> WaitForEventAsync<T>(TimeSpan? timeout = null)
    {
        IReadOnlyList<object> found = await WaitAsync([Matcher.ForType(typeof(T))], inOrder: false, timeout).ConfigureAwait(false);
        return (T)found[0];
    }

    /// <summary>Waits for an event on a topic; the topic may be a pattern (<c>orders/*</c>).</summary>
    /// <param name="topic">The topic or pattern.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>The topic message, with its payload.</returns>
    /// <exception cref="TimeoutException">No such event within the timeout; the message lists what was seen.</exception>
    public async Task<TopicMessage> WaitForEventAsync(string topic, TimeSpan? timeout = null)
    {
        IReadOnlyList<object> found = await WaitAsync([Matcher.ForTopic(topic)], inOrder: false, timeout).ConfigureAwait(false);
        return (TopicMessage)found[0];
    }

    /// <summary>Waits for one event of each type, in any order or in the order given.</summary>
    /// <param name="types">The event types; a type listed twice needs two events.</param>
    /// <param name="inOrder">Whether the events must have been published in the order of <paramref name="types"/>.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>The events, in the order of <paramref name="types"/>.</returns>
    /// <exception cref="TimeoutException">Not all arrived within the timeout; the message lists what was seen.</exception>
    public Task<IReadOnlyList<object>> WaitForEventsAsync(IEnumerable<Type> types, bool inOrder = false, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(types);
        return WaitAsync([.. types.Select(Matcher.ForType)], inOrder, timeout);
    }

    /// <summary>Waits for one event on each topic, in any order or in the order given.</summary>
    /// <param name="topics">The topics or patterns.</param>
    /// <param name="inOrder">Whether the events must have been published in the order given.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>The topic messages, in the order of <paramref name="topics"/>.</returns>
    /// <exception cref="TimeoutException">Not all arrived within the timeout; the message lists what was seen.</exception>
    public async Task<IReadOnlyList<TopicMessage>> WaitForEventsAsync(IEnumerable<string> topics, bool inOrder = false, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        IReadOnlyList<object> found = await WaitAsync([.. topics.Select(Matcher.ForTopic)], inOrder, timeout).ConfigureAwait(false);
        return [.. found.Cast<TopicMessage>()];
    }

    /// <summary>Stops recording.</summary>
    public void Dispose()
    {
        _typed.Dispose();
        _topics.Dispose();
    }

    private async Task<IReadOnlyList<object>> WaitAsync(Matcher[] matchers, bool inOrder, TimeSpan? timeout)
    {
        if (matchers.Length == 0)
        {
            throw new ArgumentException("Give at least one event to wait for.", nameof(matchers));
        }

        TimeSpan limit = timeout ?? DefaultTimeout;
        Waiter waiter = new(matchers, inOrder);
        lock (_gate)
        {
            if (!TrySatisfy(waiter))
            {
                _waiters.Add(waiter);
            }
        }

        try
        {
            // A test's patience is real time, whatever clock the bus under test runs on.
            return await waiter.Completion.Task.WaitAsync(limit, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                // An event that arrived as the timer fired may have satisfied the wait already: then it counts.
                if (waiter.Completion.Task.IsCompletedSuccessfully)
                {
                    return waiter.Completion.Task.Result;
                }

                _waiters.Remove(waiter);
                string seen = _events.Count == 0 ? "nothing" : string.Join(", ", _events.Select(e => e.Describe()));
                string wanted = string.Join(inOrder ? " then " : " and ", matchers.Select(m => m.Description));
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.###} s for {wanted}; saw: {seen}.");
            }
        }
    }

    private void Record(Recorded recorded)
    {
        lock (_gate)
        {
            _events.Add(recorded);
            for (int i = 0; i < _waiters.Count; i++)
            {
                if (TrySatisfy(_waiters[i]))
                {
                    _waiters.RemoveAt(i--);
                }
            }
        }
    }

    /// <summary>Finds unclaimed events for every matcher (in order when asked); on success claims them and completes the waiter.</summary>
    private bool TrySatisfy(Waiter waiter)
    {
        int[] picked = new int[waiter.Matchers.Length];
        HashSet<int> taken = [];
        int from = 0;
        for (int m = 0; m < waiter.Matchers.Length; m++)
        {
            int found = -1;
            for (int i = waiter.InOrder ? from : 0; i < _events.Count; i++)
            {
                if (!_events[i].Claimed && !taken.Contains(i) && waiter.Matchers[m].Matches(_events[i]))
                {
                    found = i;
                    break;
                }
            }

            if (found < 0)
            {
                return false;
            }

            picked[m] = found;
            taken.Add(found);
            from = found + 1;
        }

        object[] result = new object[picked.Length];
        for (int m = 0; m < picked.Length; m++)
        {
            _events[picked[m]].Claimed = true;
            result[m] = _events[picked[m]].Event;
        }

        waiter.Completion.TrySetResult(result);
        return true;
    }

    private sealed class Recorded(object @event, string? topic)
    {
        public object Event { get; } = @event;

        public string? Topic { get; } = topic;

        public bool Claimed { get; set; }

        public string Describe() => Topic is null ? Event.GetType().Name : $"topic '{Topic}'";
    }

    private sealed class Waiter(Matcher[] matchers, bool inOrder)
    {
        public Matcher[] Matchers { get; } = matchers;

        public bool InOrder { get; } = inOrder;

        public TaskCompletionSource<IReadOnlyList<object>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Matcher(string description, Func<Recorded, bool> matches)
    {
        public string Description { get; } = description;

        public bool Matches(Recorded recorded) => matches(recorded);

        public static Matcher ForType(Type type)
        {
            ArgumentNullException.ThrowIfNull(type);
            return new Matcher(type.Name, r => r.Topic is null && type.IsInstanceOfType(r.Event));
        }

        public static Matcher ForTopic(string topic)
        {
            TopicPattern pattern = TopicPattern.Parse(topic);
            return new Matcher($"topic '{topic}'", r => r.Topic is not null && pattern.Matches(r.Topic));
        }
    }
}
