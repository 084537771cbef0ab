using System.Data.Common;
using Switchboard.Observability;
using Switchboard.Pipeline;

namespace Switchboard.Outbox;

internal sealed partial class TransactionalOutbox
{
    /// <summary>What <see cref="HandleWithInboxAsync"/> returns for a duplicate: nothing ran, nothing is answered.</summary>
    internal static readonly object Duplicate = new();

    /// <summary>
    /// Handles a received message in one database transaction that first records its id in the inbox: its handlers' data,
    /// the messages they cascade (into the outbox) and the record commit together, or not at all. A message whose id is already
    /// recorded is skipped and reported as <see cref="Duplicate"/>.
    /// </summary>
    /// <exception cref="InboxUnavailableException">The database could not be reached to begin or commit; nothing took effect.</exception>
    internal async ValueTask<object?> HandleWithInboxAsync(EnvelopeCodec.Decoded decoded, Func<EnvelopeCodec.Decoded, CancellationToken, ValueTask<object?>> handle, CancellationToken cancellationToken)
    {
        string messageId = InboxKey(decoded.Metadata);
        DbConnection? connection = null;
        DbTransaction? transaction = null;
        try
        {
            bool first;
            try
            {
                await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
                connection = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                first = await _store.TryRecordProcessedAsync(transaction, _runtime.Options.Name, messageId, _runtime.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw InboxUnavailableException.For(_store.Name, ex);
            }

            if (!first)
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _duplicates);
                Log.InboxDuplicate(_runtime.Logger, _store.Name, messageId, _runtime.Options.Name);
                return Duplicate;
            }

            object? result = await handle(decoded with { Metadata = decoded.Metadata with { Transaction = transaction } }, cancellationToken).ConfigureAwait(false);
            try
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw InboxUnavailableException.For(_store.Name, ex);
            }

            // Cascades written in the transaction are now visible: dispatch them without waiting for a poll.
            Wake();
            return result;
        }
        finally
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Counts a duplicate the transport consumer skipped.</summary>
    internal void CountDuplicate() => Interlocked.Increment(ref _duplicates);

    /// <summary>The id the inbox records: the message id, plus the replay mark of an explicit replay, so that a replay is handled again.</summary>
    private static string InboxKey(in MessageMetadata metadata)
    {
        string id = metadata.MessageId ?? MessageIds.New();
        return metadata.Headers is { } headers && headers.TryGetValue(MessageHeaders.Replay, out string? replay) && replay.Length > 0
            ? $"{id}#replay-{replay}"
            : id;
    }
}

/// <summary>
/// The inbox's database could not be reached to begin or commit a message's transaction. Nothing took effect: the message is
/// left unacknowledged and handled again when the database answers; it is not counted as a failed attempt.
/// </summary>
public sealed class InboxUnavailableException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="InboxUnavailableException"/> class.</summary>
    public InboxUnavailableException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InboxUnavailableException"/> class.</summary>
    /// <param name="message">The message.</param>
    public InboxUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InboxUnavailableException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The database's error.</param>
    public InboxUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static InboxUnavailableException For(string store, Exception innerException)
        => new($"The inbox database ({store}) could not be reached: {innerException.Message}", innerException);
}
