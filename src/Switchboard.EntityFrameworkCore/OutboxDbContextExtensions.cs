using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Outbox;

namespace Switchboard.EntityFrameworkCore;

/// <summary>
/// Adds messages to the outbox with a <see cref="DbContext"/>: they commit with the context's data, on its connection.
/// </summary>
/// <remarks>
/// When the context has a transaction (<c>Database.BeginTransactionAsync</c>, or <see cref="MessageTransactionExtensions.UseMessageTransactionAsync"/>
/// in a handler), the message is written in it at once. Otherwise it is queued on the context and written by its next
/// SaveChanges, in the same transaction as the entities; the context must be configured with
/// <see cref="SwitchboardDbContextOptionsExtensions.UseSwitchboardOutbox(DbContextOptionsBuilder)"/>.
/// </remarks>
public static class OutboxDbContextExtensions
{
    /// <summary>Adds an event to the outbox with the context: it is published once the context's data that caused it commits.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="outbox">The bus's outbox.</param>
    /// <param name="context">The context whose transaction (or next SaveChanges) carries the event.</param>
    /// <param name="event">The event.</param>
    /// <param name="options">Message id, correlation id, headers, partition key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the row is written in the context's transaction, or queued for its next SaveChanges.</returns>
    /// <exception cref="InvalidOperationException">The message would be queued, and the context was not configured with <c>UseSwitchboardOutbox()</c>.</exception>
    public static ValueTask PublishAsync<TEvent>(this IOutbox outbox, DbContext context, TEvent @event, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(@event);
        return AddAsync(context, (transaction, ct) => outbox.PublishAsync(transaction, @event, options, ct), cancellationToken);
    }

    /// <summary>Adds a command to the outbox with the context: it is sent to its one handler once the context's data commits.</summary>
    /// <typeparam name="TCommand">The command type.</typeparam>
    /// <param name="outbox">The bus's outbox.</param>
    /// <param name="context">The context whose transaction (or next SaveChanges) carries the command.</param>
    /// <param name="command">The command.</param>
    /// <param name="options">Message id, correlation id, headers, partition key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the row is written in the context's transaction, or queued for its next SaveChanges.</returns>
    /// <exception cref="InvalidOperationException">The message would be queued, and the context was not configured with <c>UseSwitchboardOutbox()</c>.</exception>
    /// <exception cref="NoHandlerException">No handler and no transport route for the command's type (when queued: thrown by SaveChanges, which then saves nothing).</exception>
    public static ValueTask SendAsync<TCommand>(this IOutbox outbox, DbContext context, TCommand command, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(command);
        return AddAsync(context, (transaction, ct) => outbox.SendAsync(transaction, command, options, ct), cancellationToken);
    }

    /// <summary>Gets how many outbox messages wait on the context for its next SaveChanges.</summary>
    /// <param name="context">The context.</param>
    /// <returns>The number of queued messages.</returns>
    public static int GetQueuedOutboxMessageCount(this DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return OutboxQueue.Find(context)?.Pending.Count ?? 0;
    }

    /// <summary>
    /// Drops the outbox messages queued on the context and not yet saved: after a failed SaveChanges whose changes the
    /// application abandons but whose context it keeps using (for example after <c>ChangeTracker.Clear()</c>).
    /// </summary>
    /// <param name="context">The context.</param>
    /// <returns>How many messages were dropped.</returns>
    public static int DiscardQueuedOutboxMessages(this DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (OutboxQueue.Find(context) is not { } queue)
        {
            return 0;
        }

        int count = queue.Pending.Count;
        queue.Pending.Clear();
        return count;
    }

    private static async ValueTask AddAsync(DbContext context, Func<DbTransaction, CancellationToken, ValueTask> write, CancellationToken cancellationToken)
    {
        if (context.Database.CurrentTransaction is { } current)
        {
            // Messages queued before the transaction began come first: the order per partition key is the order written.
            DbTransaction transaction = current.GetDbTransaction();
            if (OutboxQueue.Find(context) is { Pending.Count: > 0 } queue)
            {
                while (queue.Pending.Count > 0)
                {
                    await queue.Pending[0](transaction, cancellationToken).ConfigureAwait(false);
                    queue.Pending.RemoveAt(0);
                }
            }

            await write(transaction, cancellationToken).ConfigureAwait(false);
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!OutboxQueue.HasInterceptor(context))
        {
            throw new InvalidOperationException(
                $"The {context.GetType().Name} has no transaction to write the outbox message in, and no outbox interceptor to write it at SaveChanges. " +
                "Configure the context with UseSwitchboardOutbox() (services.AddDbContext<T>(o => o.UseSqlite(...).UseSwitchboardOutbox())), " +
                "or begin a transaction first (await context.Database.BeginTransactionAsync()).");
        }

        OutboxQueue.For(context).Pending.Add(write);
    }
}
