using System.Data.Common;
using Switchboard.Transport;

namespace Switchboard.Outbox;

/// <summary>
/// Where outbox messages and inbox records live: a table in the application's own database. The bus owns every decision
/// (what to claim, when to retry, when a message is dead); a store only runs the statements that carry them out, so the
/// SQLite, PostgreSQL and Entity Framework Core packages differ in SQL, never in behaviour.
/// </summary>
/// <remarks>
/// <para>
/// Rows are written with the application's own <see cref="DbTransaction"/> and become visible to dispatchers only when it
/// commits. A dispatcher claims rows under a lease (<see cref="ClaimAsync"/>) so that several dispatchers never send the same
/// row while its lease runs; a dispatcher that dies leaves its rows to be claimed again when the lease ends. A row is marked
/// dispatched only after the transport confirmed it (<see cref="MarkDispatchedAsync"/>).
/// </para>
/// <para>
/// Order per partition key: a claim never returns a row while an earlier row with the same key is still pending and is
/// leased by someone or waiting for a retry; within one claim, rows come in id order. Times are passed in by the bus (its
/// <see cref="TimeProvider"/>), so every dispatcher of one database must run on machines with synchronized clocks.
/// </para>
/// </remarks>
public interface IOutboxStore : IAsyncDisposable
{
    /// <summary>Gets the store's name for logs, metrics and health checks, for example <c>sqlite</c>.</summary>
    string Name { get; }

    /// <summary>Creates or upgrades the outbox and inbox tables; safe to call any number of times, from several processes.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the schema is at <see cref="OutboxSchema.Version"/>.</returns>
    ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default);

    /// <summary>Opens a new connection to the store's database, for a unit of work the bus owns (the inbox, cascades).</summary>
    /// <param name="cancellationToken">Cancels opening it.</param>
    /// <returns>An open connection; the caller disposes it.</returns>
    ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds messages in the caller's transaction: nothing is visible to a dispatcher before that transaction commits, and
    /// nothing is left if it rolls back. Where the database can, the commit itself wakes the dispatchers (see
    /// <see cref="ListenAsync"/>).
    /// </summary>
    /// <param name="transaction">The application's open transaction, on a connection to this store's database.</param>
    /// <param name="messages">The encoded messages, in the order they are to be dispatched per partition key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the rows are written (not committed).</returns>
    ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="committed"/> whenever messages added through this store may have been committed: in this process
    /// (a commit hook) and, where the database can tell, in other processes (PostgreSQL <c>LISTEN</c>). A dispatcher wakes on
    /// it instead of waiting for its next poll; a spurious call is harmless.
    /// </summary>
    /// <param name="committed">Called on any thread; must return quickly.</param>
    /// <param name="cancellationToken">Cancels starting to listen.</param>
    /// <returns>Dispose it to stop listening.</returns>
    ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <see cref="OutboxClaim.BatchSize"/> due rows to <see cref="OutboxClaim.Owner"/> until
    /// <see cref="OutboxClaim.LeaseUntil"/>, in id order, honouring the order per partition key described on the interface.
    /// A row is due when it is pending (not dispatched, not dead), its lease (if any) ended, and its retry time (if any) came.
    /// </summary>
    /// <param name="claim">Who claims, how many, until when, and the current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The claimed rows, possibly none.</returns>
    ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Marks leased rows dispatched (the transport confirmed them, or their handlers succeeded).</summary>
    /// <param name="ids">The rows' ids.</param>
    /// <param name="dispatchedAt">When.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is committed.</returns>
    ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives a leased row back: its lease ends; when <paramref name="failure"/> is set the attempt counts (attempts + 1, the
    /// error kept) and the row is not due before <paramref name="notBefore"/>.
    /// </summary>
    /// <param name="id">The row's id.</param>
    /// <param name="failure">Why the attempt failed, or <see langword="null"/> to release a row that was not attempted.</param>
    /// <param name="notBefore">When the row is due again, or <see langword="null"/> for at once.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is committed.</returns>
    ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default);

    /// <summary>Parks a row as dead with the reason: it is never claimed again unless replayed.</summary>
    /// <param name="id">The row's id.</param>
    /// <param name="reason">Why.</param>
    /// <param name="deadAt">When.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is committed.</returns>
    ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default);

    /// <summary>Lists dead rows, oldest first.</summary>
    /// <param name="count">The most to return.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The rows, with <see cref="OutboxMessage.DeadReason"/> set.</returns>
    ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>Makes a dead row (or every dead row when <paramref name="id"/> is <see langword="null"/>) pending again, with no attempts.</summary>
    /// <param name="id">The row's id, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many rows were revived.</returns>
    ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a dead row for good.</summary>
    /// <param name="id">The row's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the row existed and was dead.</returns>
    ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Deletes dispatched rows older than <paramref name="dispatchedBefore"/>, and inbox records older than <paramref name="processedBefore"/>.</summary>
    /// <param name="dispatchedBefore">The retention limit of dispatched rows.</param>
    /// <param name="processedBefore">The end of the inbox's deduplication window.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many rows were deleted in all.</returns>
    ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default);

    /// <summary>Counts pending and dead rows and finds the oldest pending one.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The counts.</returns>
    ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records in the caller's transaction that <paramref name="consumer"/> processed <paramref name="messageId"/>, unless it
    /// already did: the inbox. Returns <see langword="false"/> for a duplicate (a committed record exists, or one is being
    /// committed by a concurrent transaction that then succeeds).
    /// </summary>
    /// <param name="transaction">The transaction of the handler's unit of work.</param>
    /// <param name="consumer">The consumer's name (the bus's name): each consumer deduplicates for itself.</param>
    /// <param name="messageId">The message id (plus its replay mark, for an explicit replay).</param>
    /// <param name="processedAt">When.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when this is the first time.</returns>
    ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default);
}

/// <summary>The schema the stores create: its version, raised with every change, and stored in the database.</summary>
public static class OutboxSchema
{
    /// <summary>The current schema version.</summary>
    public const int Version = 1;
}

/// <summary>A claim of due outbox rows.</summary>
/// <param name="Owner">The claiming dispatcher's unique name.</param>
/// <param name="BatchSize">The most rows to lease.</param>
/// <param name="Now">The current time.</param>
/// <param name="LeaseUntil">When the lease ends if the rows are neither marked nor released.</param>
public readonly record struct OutboxClaim(string Owner, int BatchSize, DateTimeOffset Now, DateTimeOffset LeaseUntil)
{
    /// <summary>
    /// Gets rows of the previous batch whose dispatch was confirmed: the store marks them dispatched (at <see cref="Now"/>)
    /// in the claim's own transaction, before it claims, as <see cref="IOutboxStore.MarkDispatchedAsync"/> would. A dispatcher
    /// with more rows waiting saves a transaction per batch this way; if the claim fails, nothing is marked.
    /// </summary>
    public IReadOnlyList<long>? Dispatched { get; init; }
}

/// <summary>What an outbox holds right now.</summary>
/// <param name="Pending">Rows not yet dispatched (due, leased or waiting for a retry).</param>
/// <param name="Dead">Rows parked as dead.</param>
/// <param name="OldestPendingAt">When the oldest pending row was written, or <see langword="null"/> when none is pending.</param>
public readonly record struct OutboxCounts(long Pending, long Dead, DateTimeOffset? OldestPendingAt);

/// <summary>A row of the outbox: an encoded message with its dispatch state.</summary>
public sealed class OutboxMessage
{
    /// <summary>Gets the row's id, increasing in the order rows were written.</summary>
    public required long Id { get; init; }

    /// <summary>Gets the message exactly as it is handed to the transport or the local handlers.</summary>
    public required TransportMessage Message { get; init; }

    /// <summary>Gets when the row was written.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets how many dispatch attempts failed so far.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets the last attempt's error, if any.</summary>
    public string? LastError { get; init; }

    /// <summary>Gets why the row is dead (only for rows returned by <see cref="IOutboxStore.ListDeadAsync"/>).</summary>
    public DeadLetterReason? DeadReason { get; init; }

    /// <summary>Gets when the row was parked as dead (only for dead rows).</summary>
    public DateTimeOffset? DeadAt { get; init; }
}
