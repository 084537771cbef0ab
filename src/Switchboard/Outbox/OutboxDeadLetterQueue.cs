using System.Globalization;
using Switchboard.Transport;

namespace Switchboard.Outbox;

/// <summary>The outbox's dead rows through the same <see cref="IDeadLetterQueue"/> API as every transport's dead letters.</summary>
internal sealed class OutboxDeadLetterQueue(TransactionalOutbox outbox) : IDeadLetterQueue
{
    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        await outbox.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<OutboxMessage> rows = await outbox.Store.ListDeadAsync(count, cancellationToken).ConfigureAwait(false);
        DeadLetterMessage[] messages = new DeadLetterMessage[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            OutboxMessage row = rows[i];
            messages[i] = new DeadLetterMessage
            {
                Id = row.Id.ToString(CultureInfo.InvariantCulture),
                Message = row.Message,
                Reason = row.DeadReason ?? new DeadLetterReason(row.LastError ?? "Unknown", null, null, row.Attempts),
                DeadLetteredAt = row.DeadAt ?? row.CreatedAt,
                ConsumerGroup = outbox.BusName,
            };
        }

        return messages;
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await outbox.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return (await outbox.Store.CountAsync(cancellationToken).ConfigureAwait(false)).Dead;
    }

    public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TryParse(id, out long rowId))
        {
            return false;
        }

        await outbox.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        bool replayed = await outbox.Store.ReviveDeadAsync(rowId, cancellationToken).ConfigureAwait(false) > 0;
        if (replayed)
        {
            outbox.Wake();
        }

        return replayed;
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        await outbox.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        int replayed = await outbox.Store.ReviveDeadAsync(null, cancellationToken).ConfigureAwait(false);
        if (replayed > 0)
        {
            outbox.Wake();
        }

        return replayed;
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TryParse(id, out long rowId))
        {
            return false;
        }

        await outbox.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await outbox.Store.DeleteDeadAsync(rowId, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParse(string id, out long rowId)
    {
        ArgumentNullException.ThrowIfNull(id);
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out rowId);
    }
}
