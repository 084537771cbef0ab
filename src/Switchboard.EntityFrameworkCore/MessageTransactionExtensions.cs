using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Switchboard.EntityFrameworkCore;

/// <summary>Lets a handler save its data with a <see cref="DbContext"/> in the transaction the message is handled in.</summary>
public static class MessageTransactionExtensions
{
    /// <summary>
    /// Points the context at the connection and transaction of the message being handled (<see cref="MessageContext.Transaction"/>:
    /// on a bus with an outbox and its inbox, the inbox's unit of work), so that the handler's SaveChanges, the inbox record and
    /// the messages it publishes commit together, or not at all. The bus commits after the handlers returned; do not commit here.
    /// </summary>
    /// <param name="database">The context's database, before it opened a connection of its own.</param>
    /// <param name="context">The context of the message being handled.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the context uses the transaction.</returns>
    /// <exception cref="InvalidOperationException">
    /// The message is not handled in a transaction (the bus has no outbox, or its inbox is off), the context already opened
    /// another connection or has another transaction, or the context's provider does not match the outbox's database.
    /// </exception>
    public static async Task UseMessageTransactionAsync(this DatabaseFacade database, MessageContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(context);
        DbTransaction transaction = context.Transaction
            ?? throw new InvalidOperationException(
                "The message is not handled in a database transaction: MessageContext.Transaction is null. It is set on a bus with an outbox " +
                "whose inbox is on (OutboxOptions.UseInbox), or by a handler that called MessageContext.UseTransaction.");
        DbConnection connection = transaction.Connection
            ?? throw new InvalidOperationException("The message's transaction has already ended: it has no connection.");

        if (database.CurrentTransaction is { } current)
        {
            if (ReferenceEquals(current.GetDbTransaction(), transaction))
            {
                return;
            }

            throw new InvalidOperationException(
                "The DbContext already has a transaction of its own; it cannot also save in the message's transaction. " +
                "Call UseMessageTransactionAsync before beginning a transaction or saving.");
        }

        DbConnection own = database.GetDbConnection();
        if (!ReferenceEquals(own, connection))
        {
            if (own.State != ConnectionState.Closed)
            {
                throw new InvalidOperationException(
                    "The DbContext already opened a connection of its own; it cannot also save in the message's transaction. " +
                    "Call UseMessageTransactionAsync first in the handler, before the context queries or saves.");
            }

            if (!own.GetType().IsInstanceOfType(connection))
            {
                throw new InvalidOperationException(
                    $"The DbContext's provider uses {own.GetType().Name} connections but the outbox's database is reached through a " +
                    $"{connection.GetType().Name}: the context and the outbox store must use the same database.");
            }

            database.SetDbConnection(connection, contextOwnsConnection: false);
        }

        await database.UseTransactionAsync(transaction, cancellationToken).ConfigureAwait(false);
    }
}
