using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>
/// An optional capability of an <see cref="IDeadLetterQueue"/>: it pages and filters its dead letters itself and finds one
/// by id without reading the others. A queue without it is read through <see cref="IDeadLetterQueue.ListAsync"/> and
/// filtered in memory, up to <see cref="DeadLetterQuery.ScanLimit"/> entries (<see cref="DeadLetterQueueExtensions"/>).
/// </summary>
public interface IDeadLetterBrowser
{
    /// <summary>Reads one page of the dead letters that pass the query's filters, oldest first.</summary>
    /// <param name="query">Filters and paging.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    ValueTask<DeadLetterPage> BrowseAsync(DeadLetterQuery query, CancellationToken cancellationToken = default);

    /// <summary>Reads one dead letter.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The dead letter, or <see langword="null"/> when there is none with that id.</returns>
    ValueTask<DeadLetterMessage?> FindAsync(string id, CancellationToken cancellationToken = default);
}

/// <summary>
/// An optional capability of an <see cref="IDeadLetterQueue"/>: it replays or deletes many dead letters in one pass, for a
/// queue where settling one by id means reading past the others (RabbitMQ). Each message is settled on its own, so an
/// interrupted pass leaves every message either settled or untouched.
/// </summary>
public interface IDeadLetterBatch
{
    /// <summary>Replays or deletes the dead letters with the given ids.</summary>
    /// <param name="ids">The ids; each is settled at most once.</param>
    /// <param name="replay"><see langword="true"/> to replay, <see langword="false"/> to delete.</param>
    /// <param name="settled">Called after each id settled, with the id and whether it was found.</param>
    /// <param name="cancellationToken">Stops after the current message; what was settled stays settled.</param>
    /// <returns>A task that completes when every id was settled or looked for.</returns>
    ValueTask SettleManyAsync(IReadOnlyCollection<string> ids, bool replay, Action<string, bool> settled, CancellationToken cancellationToken = default);
}
