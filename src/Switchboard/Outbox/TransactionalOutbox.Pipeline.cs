using System.Data.Common;
using Switchboard.Pipeline;
using Switchboard.Transport;

namespace Switchboard.Outbox;

internal sealed partial class TransactionalOutbox
{
    /// <summary>
    /// Writes one message in the application's transaction after the outgoing pipeline (the message leaves through the
    /// outbox); nothing is written when a middleware kept it back.
    /// </summary>
    internal ValueTask AddThroughPipelineAsync(DbTransaction transaction, OutgoingKind kind, object message, MessageMetadata metadata, string? partitionKey, CancellationToken cancellationToken)
    {
        ValueTask<TransportMessage?> encoding = _bus.EncodeForOutboxAsync(this, kind, message, metadata, partitionKey, cancellationToken);
        if (encoding.IsCompletedSuccessfully)
        {
            return encoding.Result is { } row ? AddAsync(transaction, [row], cancellationToken) : default;
        }

        return AwaitAndAddAsync(encoding, transaction, cancellationToken);
    }

    private async ValueTask AwaitAndAddAsync(ValueTask<TransportMessage?> encoding, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (await encoding.ConfigureAwait(false) is { } row)
        {
            await AddAsync(transaction, [row], cancellationToken).ConfigureAwait(false);
        }
    }
}
