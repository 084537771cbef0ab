namespace Switchboard.Routing;

/// <summary>The topic subscriptions of one bus or scope, copy-on-write like <see cref="SubscriptionTable"/>.</summary>
internal sealed class TopicTable
{
    private readonly Lock _gate = new();
    private volatile Entry[] _entries = [];

    public Entry[] Current => _entries;

    public void Add(Entry entry)
    {
        lock (_gate)
        {
            _entries = [.. _entries, entry];
        }
    }

    public void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _entries = Array.FindAll(_entries, e => !ReferenceEquals(e.Subscription, subscription));
        }
    }

    internal sealed record Entry(TopicPattern Pattern, Func<TopicMessage, CancellationToken, ValueTask> Handler, Subscription Subscription);
}
