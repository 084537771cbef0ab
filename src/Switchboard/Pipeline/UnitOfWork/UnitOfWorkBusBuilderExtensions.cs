using System.Data.Common;

namespace Switchboard;

/// <summary>Unit-of-work middleware: each handler invocation in a database transaction of its own.</summary>
public static class UnitOfWorkBusBuilderExtensions
{
    /// <summary>
    /// Runs each handler invocation in a database transaction that <paramref name="begin"/> opens: the handler finds it in
    /// <see cref="MessageContext.Transaction"/> (and, on a bus with an outbox, what it publishes or sends through its context
    /// is written in it), it is committed when the handler succeeded and rolled back when it threw; then the transaction and
    /// its connection are disposed. A message already handled in a transaction (the inbox's) runs in that one instead.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="begin">Opens a connection and begins a transaction for one handler invocation.</param>
    /// <param name="appliesTo">Only messages assignable to this type; <see langword="null"/> for every message.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseUnitOfWork(this BusBuilder builder, Func<IncomingContext, CancellationToken, ValueTask<DbTransaction>> begin, Type? appliesTo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(begin);
        return builder.UseIncoming((context, next) => InTransactionAsync(begin, context, next), appliesTo);
    }

    private static async ValueTask InTransactionAsync(Func<IncomingContext, CancellationToken, ValueTask<DbTransaction>> begin, IncomingContext context, IncomingNext next)
    {
        MessageContext message = context.MessageContext;
        if (message.Transaction is not null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        DbTransaction transaction = await begin(context, context.CancellationToken).ConfigureAwait(false);
        DbConnection? connection = transaction.Connection;
        try
        {
            message.UseTransaction(transaction);
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception failure)
            {
                try
                {
                    await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception rollback)
                {
                    // The handler's failure is what the caller must hear; a failed rollback rides along with it.
                    throw new AggregateException(failure, rollback);
                }

                throw;
            }

            await transaction.CommitAsync(context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The next handler of this message gets a unit of work of its own.
            message.LeaveTransaction(transaction);
            await transaction.DisposeAsync().ConfigureAwait(false);
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
