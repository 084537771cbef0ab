using System.Globalization;
using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>
/// Paging, filters, look-up and bulk operations over any <see cref="IDeadLetterQueue"/>: through its
/// <see cref="IDeadLetterBrowser"/> or <see cref="IDeadLetterBatch"/> when it has them, otherwise through the members
/// every queue has.
/// </summary>
public static class DeadLetterQueueExtensions
{
    /// <summary>Reads one page of dead letters that pass the query's filters, oldest first.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="query">Filters and paging.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public static async ValueTask<DeadLetterPage> BrowseAsync(this IDeadLetterQueue queue, DeadLetterQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (queue is IDeadLetterBrowser browser)
        {
            return await browser.BrowseAsync(query, cancellationToken).ConfigureAwait(false);
        }

        // Generic: read up to the scan limit, filter here; the cursor is the offset among the matches.
        int offset = ParseOffset(query.Cursor);
        IReadOnlyList<DeadLetterMessage> all = await queue.ListAsync(query.ScanLimit, cancellationToken).ConfigureAwait(false);
        long total = all.Count < query.ScanLimit ? all.Count : await queue.CountAsync(cancellationToken).ConfigureAwait(false);
        List<DeadLetterMessage> page = new(Math.Min(query.PageSize, 256));
        int matched = 0;
        bool more = false;
        foreach (DeadLetterMessage message in all)
        {
            if (!query.Matches(message))
            {
                continue;
            }

            if (matched++ < offset)
            {
                continue;
            }

            if (page.Count == query.PageSize)
            {
                more = true;
                break;
            }

            page.Add(message);
        }

        return new DeadLetterPage(page, more ? (offset + page.Count).ToString(CultureInfo.InvariantCulture) : null, total);
    }

    /// <summary>Reads one dead letter by id.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The dead letter, or <see langword="null"/> when there is none with that id (within the first 10,000 for a queue that cannot look one up).</returns>
    public static async ValueTask<DeadLetterMessage?> FindAsync(this IDeadLetterQueue queue, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (queue is IDeadLetterBrowser browser)
        {
            return await browser.FindAsync(id, cancellationToken).ConfigureAwait(false);
        }

        foreach (DeadLetterMessage message in await queue.ListAsync(new DeadLetterQuery().ScanLimit, cancellationToken).ConfigureAwait(false))
        {
            if (message.Id == id)
            {
                return message;
            }
        }

        return null;
    }

    /// <summary>Returns the ids of every dead letter that passes the query's filters (its paging is ignored): a snapshot a bulk operation then works through.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="query">The filters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The ids, oldest first.</returns>
    public static async ValueTask<IReadOnlyList<string>> SelectIdsAsync(this IDeadLetterQueue queue, DeadLetterQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(query);
        List<string> ids = [];
        HashSet<string> seen = new(StringComparer.Ordinal);
        DeadLetterQuery page = query with { Cursor = null, PageSize = 500 };
        while (true)
        {
            DeadLetterPage result = await queue.BrowseAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (DeadLetterMessage message in result.Items)
            {
                if (seen.Add(message.Id))
                {
                    ids.Add(message.Id);
                }
            }

            if (result.NextCursor is null || ids.Count >= query.ScanLimit)
            {
                return ids;
            }

            page = page with { Cursor = result.NextCursor };
        }
    }

    /// <summary>
    /// Replays the dead letters with the given ids, each once: a message is sent back to its destination and removed from
    /// the queue as one step of the transport, so an interrupted run leaves each either replayed or still dead, never both
    /// and never neither. Ids gone meanwhile are counted as missing.
    /// </summary>
    /// <param name="queue">The queue.</param>
    /// <param name="ids">The ids.</param>
    /// <param name="progress">Told after each message; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops after the current message; what was replayed stays replayed.</param>
    /// <returns>What was done.</returns>
    public static ValueTask<DeadLetterBulkResult> ReplayManyAsync(this IDeadLetterQueue queue, IReadOnlyCollection<string> ids, IProgress<DeadLetterProgress>? progress = null, CancellationToken cancellationToken = default)
        => SettleManyAsync(queue, ids, replay: true, progress, cancellationToken);

    /// <summary>Deletes the dead letters with the given ids, each once; ids gone meanwhile are counted as missing.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="ids">The ids.</param>
    /// <param name="progress">Told after each message; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops after the current message; what was deleted stays deleted.</param>
    /// <returns>What was done.</returns>
    public static ValueTask<DeadLetterBulkResult> DeleteManyAsync(this IDeadLetterQueue queue, IReadOnlyCollection<string> ids, IProgress<DeadLetterProgress>? progress = null, CancellationToken cancellationToken = default)
        => SettleManyAsync(queue, ids, replay: false, progress, cancellationToken);

    /// <summary>Replays every dead letter that passes the query's filters when the call starts (a snapshot: a message that fails again and comes back is not replayed twice).</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="query">The filters; paging is ignored.</param>
    /// <param name="progress">Told after each message; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops after the current message; what was replayed stays replayed.</param>
    /// <returns>What was done.</returns>
    public static async ValueTask<DeadLetterBulkResult> ReplayMatchingAsync(this IDeadLetterQueue queue, DeadLetterQuery query, IProgress<DeadLetterProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> ids = await SelectIdsAsync(queue, query, cancellationToken).ConfigureAwait(false);
        return await SettleManyAsync(queue, ids, replay: true, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every dead letter that passes the query's filters when the call starts.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="query">The filters; paging is ignored.</param>
    /// <param name="progress">Told after each message; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops after the current message; what was deleted stays deleted.</param>
    /// <returns>What was done.</returns>
    public static async ValueTask<DeadLetterBulkResult> DeleteMatchingAsync(this IDeadLetterQueue queue, DeadLetterQuery query, IProgress<DeadLetterProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> ids = await SelectIdsAsync(queue, query, cancellationToken).ConfigureAwait(false);
        return await SettleManyAsync(queue, ids, replay: false, progress, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<DeadLetterBulkResult> SettleManyAsync(IDeadLetterQueue queue, IReadOnlyCollection<string> ids, bool replay, IProgress<DeadLetterProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(ids);
        string[] unique = [.. ids.Where(static id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal)];
        int done = 0;
        int succeeded = 0;
        void Settled(string id, bool found)
        {
            done++;
            if (found)
            {
                succeeded++;
            }

            progress?.Report(new DeadLetterProgress(unique.Length, done, succeeded));
        }

        try
        {
            if (queue is IDeadLetterBatch batch)
            {
                await batch.SettleManyAsync(unique, replay, Settled, cancellationToken).ConfigureAwait(false);
                if (done < unique.Length)
                {
                    // Not found in the pass: gone meanwhile.
                    cancellationToken.ThrowIfCancellationRequested();
                    for (int i = done; i < unique.Length; i++)
                    {
                        Settled(string.Empty, found: false);
                    }
                }
            }
            else
            {
                foreach (string id in unique)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    bool found = replay
                        ? await queue.ReplayAsync(id, cancellationToken).ConfigureAwait(false)
                        : await queue.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
                    Settled(id, found);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new DeadLetterBulkResult(unique.Length, succeeded, done - succeeded, Cancelled: true);
        }

        return new DeadLetterBulkResult(unique.Length, succeeded, done - succeeded, Cancelled: false);
    }

    private static int ParseOffset(string? cursor)
        => cursor is null ? 0
            : int.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out int offset) ? offset
            : throw new ArgumentException($"The cursor '{cursor}' was not returned by this queue.", nameof(cursor));
}
