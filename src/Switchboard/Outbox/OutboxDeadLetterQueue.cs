using System.Globalization;
using Switchboard.Transport;

namespace Switchboard.Outbox;

/// <summary>The outbox's dead rows through the same <see cref="IDeadLetterQueue"/> API as every transport's dead letters.</summary>
/// <remarks>Works with a bus's outbox (schema ensured, its dispatcher woken on replay) or on a store alone (operations tools).</remarks>
internal sealed class OutboxDeadLetterQueue(IOutboxStore store, string consumerGroup, Func<CancellationToken, Task> ensureSchema, Action wake) : IDeadLetterQueue
{
    public OutboxDeadLetterQueue(TransactionalOutbox outbox)
        : this(outbox.Store, outbox.BusName, outbox.EnsureSchemaAsync, outbox.Wake)
    {
    }

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        await ensureSchema(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<OutboxMessage> rows = await store.ListDeadAsync(count, cancellationToken).ConfigureAwait(false);
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
                ConsumerGroup = consumerGroup,
            };
        }

        return messages;
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await ensureSchema(cancellationToken).ConfigureAwait(false);
        return (await store.CountAsync(cancellationToken).ConfigureAwait(false)).Dead;
    }

    public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TryParse(id, out long rowId))
        {
            return false;
        }

        await ensureSchema(cancellationToken).ConfigureAwait(false);
        bool replayed = await store.ReviveDeadAsync(rowId, cancellationToken).ConfigureAwait(false) > 0;
        if (replayed)
        {
            wake();
        }

        return replayed;
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        await ensureSchema(cancellationToken).ConfigureAwait(false);
        int replayed = await store.ReviveDeadAsync(null, cancellationToken).ConfigureAwait(false);
        if (replayed > 0)
        {
            wake();
        }

        return replayed;
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TryParse(id, out long rowId))
        {
            return false;
        }

        await ensureSchema(cancellationToken).ConfigureAwait(false);
        return await store.DeleteDeadAsync(rowId, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParse(string id, out long rowId)
    {
        ArgumentNullException.ThrowIfNull(id);
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out rowId);
    }
}
