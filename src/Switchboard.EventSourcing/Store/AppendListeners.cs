namespace Switchboard.EventSourcing;

/// <summary>The callbacks of <see cref="IEventStore.OnAppended"/>: copy-on-write, so that signalling never locks.</summary>
internal sealed class AppendListeners
{
    private Action[] _listeners = [];

    public IDisposable Add(Action appended)
    {
        ArgumentNullException.ThrowIfNull(appended);
        Update(list => [.. list, appended]);
        return new Registration(this, appended);
    }

    public void Signal()
    {
        foreach (Action listener in Volatile.Read(ref _listeners))
        {
            listener();
        }
    }

    private void Update(Func<Action[], Action[]> change)
    {
        while (true)
        {
            Action[] current = Volatile.Read(ref _listeners);
            if (Interlocked.CompareExchange(ref _listeners, change(current), current) == current)
            {
                return;
            }
        }
    }

    private sealed class Registration(AppendListeners owner, Action appended) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Update(list => Array.FindAll(list, l => !ReferenceEquals(l, appended)));
            }
        }
    }
}
