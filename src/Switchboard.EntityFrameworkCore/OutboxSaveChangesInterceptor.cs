using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Switchboard.EntityFrameworkCore;

/// <summary>
/// Writes the outbox messages queued on a <see cref="DbContext"/> during its SaveChanges, in the transaction that saves the
/// entities: the application's own when it has one (inside a savepoint, so that a failed save takes them back), otherwise one
/// begun here and committed after the save succeeded. A failed save leaves no message in the database; the messages stay
/// queued with the changes EF Core still tracks, and go with the next SaveChanges that commits them.
/// </summary>
internal sealed class OutboxSaveChangesInterceptor : SaveChangesInterceptor
{
    /// <summary>The name of the savepoint created in the application's transaction.</summary>
    internal const string SavepointName = "__switchboard_outbox";

    /// <summary>The one instance: the interceptor keeps its state on the context (<see cref="OutboxQueue"/>), never on itself.</summary>
    public static readonly OutboxSaveChangesInterceptor Instance = new();

    private OutboxSaveChangesInterceptor()
    {
    }

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        // SaveChanges is synchronous: the outbox's writes are not; wait for them (prefer SaveChangesAsync).
        BeforeSaveAsync(eventData.Context, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await BeforeSaveAsync(eventData.Context, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        AfterSaveAsync(eventData.Context).AsTask().GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        await AfterSaveAsync(eventData.Context).ConfigureAwait(false);
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData)
        => UndoAsync(eventData.Context).AsTask().GetAwaiter().GetResult();

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
        => await UndoAsync(eventData.Context).ConfigureAwait(false);

    public override void SaveChangesCanceled(DbContextEventData eventData)
        => UndoAsync(eventData.Context).AsTask().GetAwaiter().GetResult();

    public override async Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
        => await UndoAsync(eventData.Context).ConfigureAwait(false);

    private static async ValueTask BeforeSaveAsync(DbContext? context, CancellationToken cancellationToken)
    {
        if (context is null || OutboxQueue.Find(context) is not { Pending.Count: > 0 } queue)
        {
            return;
        }

        DatabaseFacade database = context.Database;
        IDbContextTransaction transaction;
        if (database.CurrentTransaction is { } current)
        {
            transaction = current;
            if (current.SupportsSavepoints)
            {
                await current.CreateSavepointAsync(SavepointName, cancellationToken).ConfigureAwait(false);
                queue.Savepoint = SavepointName;
            }
        }
        else
        {
            if (database.CreateExecutionStrategy().RetriesOnFailure)
            {
                throw new InvalidOperationException(
                    "SaveChanges would write outbox messages in a transaction of its own, which the configured retrying execution strategy " +
                    "(EnableRetryOnFailure) does not allow. Run the unit of work in the strategy with an explicit transaction: " +
                    "await db.Database.CreateExecutionStrategy().ExecuteAsync(async () => { await using var tx = await db.Database.BeginTransactionAsync(); " +
                    "...; await outbox.PublishAsync(db, message); await db.SaveChangesAsync(); await tx.CommitAsync(); }).");
            }

            transaction = await database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            queue.OwnedTransaction = transaction;
        }

        try
        {
            DbTransaction dbTransaction = transaction.GetDbTransaction();
            List<Func<DbTransaction, CancellationToken, ValueTask>> pending = queue.Pending;
            queue.Written = 0;
            for (int i = 0; i < pending.Count; i++)
            {
                await pending[i](dbTransaction, cancellationToken).ConfigureAwait(false);
                queue.Written = i + 1;
            }
        }
        catch
        {
            await UndoAsync(context).ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask AfterSaveAsync(DbContext? context)
    {
        if (context is null || OutboxQueue.Find(context) is not { } queue)
        {
            return;
        }

        try
        {
            if (queue.OwnedTransaction is { } owned)
            {
                // Not cancellable: the entities are saved and accepted; leaving now would roll them back behind EF Core's back.
                await owned.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else if (queue.Savepoint is { } savepoint && context.Database.CurrentTransaction is { } current)
            {
                await current.ReleaseSavepointAsync(savepoint, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            // Whatever the commit did, EF Core now tracks the entities as saved: their messages go with them, or not at all.
            queue.Pending.RemoveRange(0, Math.Min(queue.Written, queue.Pending.Count));
            queue.Written = 0;
            queue.Savepoint = null;
            if (queue.OwnedTransaction is { } owned)
            {
                queue.OwnedTransaction = null;
                await owned.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The save failed or was canceled: take back what it wrote; keep the messages queued with the changes EF Core still tracks.</summary>
    private static async ValueTask UndoAsync(DbContext? context)
    {
        if (context is null || OutboxQueue.Find(context) is not { } queue)
        {
            return;
        }

        int written = queue.Written;
        queue.Written = 0;
        if (queue.OwnedTransaction is { } owned)
        {
            queue.OwnedTransaction = null;
            try
            {
                await owned.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (DbException)
            {
                // The connection broke: the database rolls the transaction back itself.
            }
            catch (InvalidOperationException)
            {
                // The transaction already ended.
            }
            finally
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }
        }
        else if (queue.Savepoint is { } savepoint)
        {
            queue.Savepoint = null;
            if (context.Database.CurrentTransaction is { } current)
            {
                try
                {
                    await current.RollbackToSavepointAsync(savepoint, CancellationToken.None).ConfigureAwait(false);
                }
                catch (DbException)
                {
                    // The transaction is gone or doomed: the application's rollback takes the messages with it.
                }
                catch (InvalidOperationException)
                {
                    // The transaction already ended.
                }
            }
        }
        else if (written > 0)
        {
            // Written into the application's transaction, which cannot take them back alone: they commit or roll back with it.
            queue.Pending.RemoveRange(0, Math.Min(written, queue.Pending.Count));
        }
    }
}
