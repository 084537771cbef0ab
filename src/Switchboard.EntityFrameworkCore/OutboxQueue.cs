using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Switchboard.EntityFrameworkCore;

/// <summary>
/// The outbox messages a <see cref="DbContext"/> holds until its next SaveChanges, and the state of the save that writes them.
/// One per context instance (per lease, for a pooled context); a context is used by one thread at a time, so nothing here locks.
/// </summary>
internal sealed class OutboxQueue
{
    private static readonly ConditionalWeakTable<DbContext, OutboxQueue> s_queues = [];

    private int _lease;

    private OutboxQueue(int lease) => _lease = lease;

    /// <summary>Gets the writes waiting for the next SaveChanges, in the order the messages were added.</summary>
    public List<Func<DbTransaction, CancellationToken, ValueTask>> Pending { get; } = [];

    /// <summary>Gets or sets the transaction the interceptor began for the save in progress (committed when it succeeds).</summary>
    public IDbContextTransaction? OwnedTransaction { get; set; }

    /// <summary>Gets or sets the savepoint the interceptor created in the application's transaction for the save in progress.</summary>
    public string? Savepoint { get; set; }

    /// <summary>Gets or sets how many of <see cref="Pending"/> the save in progress wrote.</summary>
    public int Written { get; set; }

    /// <summary>Returns the context's queue, creating it; a pooled context leased again starts with an empty one.</summary>
    public static OutboxQueue For(DbContext context)
    {
        int lease = context.ContextId.Lease;
        OutboxQueue queue = s_queues.GetValue(context, _ => new OutboxQueue(lease));
        queue.Renew(lease);
        return queue;
    }

    /// <summary>Returns the context's queue if it has one for its current lease.</summary>
    public static OutboxQueue? Find(DbContext context)
    {
        if (!s_queues.TryGetValue(context, out OutboxQueue? queue))
        {
            return null;
        }

        queue.Renew(context.ContextId.Lease);
        return queue;
    }

    /// <summary>Whether the context was configured with <c>UseSwitchboardOutbox()</c>, without which queued messages would never be written.</summary>
    public static bool HasInterceptor(DbContext context)
    {
        CoreOptionsExtension? core = context.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>();
        if (core?.Interceptors is { } interceptors)
        {
            foreach (Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor interceptor in interceptors)
            {
                if (interceptor is OutboxSaveChangesInterceptor)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>A pooled context came back with a new lease: what the previous user queued and did not save is not this user's.</summary>
    private void Renew(int lease)
    {
        if (lease != _lease)
        {
            _lease = lease;
            Pending.Clear();
            OwnedTransaction = null;
            Savepoint = null;
            Written = 0;
        }
    }
}
