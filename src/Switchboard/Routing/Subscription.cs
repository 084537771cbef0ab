namespace Switchboard;

/// <summary>
/// A runtime subscription. It is effective when the call that created it returns, and disposing it removes it: no
/// publish that starts after <see cref="Dispose"/> returns reaches it. A publish already under way on another thread may
/// still invoke it once (removal does not wait for concurrent publishers, so it is safe from inside its own handler).
/// Disposing twice is harmless.
/// </summary>
public sealed class Subscription : IDisposable
{
    private Action<Subscription>? _remove;

    internal Subscription(string description)
    {
        Description = description;
    }

    /// <summary>Gets what the subscription listens to, for example <c>OrderCreated</c> or <c>orders/*</c>.</summary>
    public string Description { get; }

    /// <summary>Gets whether the subscription still receives messages.</summary>
    public bool IsActive => Volatile.Read(ref _remove) is not null;

    internal void Activate(Action<Subscription> remove) => Volatile.Write(ref _remove, remove);

    /// <summary>Removes the subscription.</summary>
    public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke(this);

    /// <inheritdoc />
    public override string ToString() => Description;
}
