using System.Data.Common;

namespace Switchboard.EventSourcing;

/// <summary>
/// A read model built from every stream of an event store, in position order, that resumes from its checkpoint (seed 001's
/// "subscriptions with catch-up"). Run it with a <see cref="CatchUpProjectionRunner"/> (or <c>AddProjection&lt;T&gt;</c> in
/// <c>AddEventSourcing</c>).
/// </summary>
/// <remarks>
/// On a database event store each batch of events is handled in one transaction (<see cref="ProjectionContext.Transaction"/>)
/// that also stores the checkpoint: a projection that writes its read model in that transaction sees each event's effect
/// exactly once, even across crashes. A projection that writes elsewhere sees an event again after a crash between its write
/// and the checkpoint's commit, and must be idempotent.
/// </remarks>
public interface ICatchUpProjection
{
    /// <summary>Gets the projection's name: the key of its checkpoint. Two projections never share one.</summary>
    string Name { get; }

    /// <summary>Handles one event. Throwing stops the projection at this event (nothing is skipped): the batch rolls back and is retried.</summary>
    /// <param name="event">The event and its position.</param>
    /// <param name="context">The batch's transaction, when the store has one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the event is handled.</returns>
    ValueTask HandleAsync(StoredEvent @event, ProjectionContext context, CancellationToken cancellationToken);

    /// <summary>Deletes the read model, before a rebuild from position 0 (in the same transaction as the checkpoint's reset).</summary>
    /// <param name="context">The reset's transaction, when the store has one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the read model is empty.</returns>
    ValueTask ResetAsync(ProjectionContext context, CancellationToken cancellationToken);
}

/// <summary>What a projection's handler may use: the transaction its checkpoint commits in.</summary>
public sealed class ProjectionContext
{
    internal ProjectionContext(IEventStore store, DbTransaction? transaction)
    {
        Store = store;
        Transaction = transaction;
    }

    /// <summary>Gets the event store the projection reads.</summary>
    public IEventStore Store { get; }

    /// <summary>
    /// Gets the transaction that stores the checkpoint of this batch (a database event store), or <see langword="null"/> (in
    /// memory). Write the read model with it (<c>command.Transaction = context.Transaction</c>) to commit both together.
    /// </summary>
    public DbTransaction? Transaction { get; }
}

/// <summary>How a <see cref="CatchUpProjectionRunner"/> reads and waits.</summary>
public sealed class CatchUpProjectionOptions
{
    /// <summary>Gets or sets how many events one batch (one transaction) handles.</summary>
    /// <value>The default value is 256.</value>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// Gets or sets how often a running projection looks for events appended by other processes. Appends through the same
    /// store object wake it at once.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long a running projection waits after a failed batch before it tries that batch again.</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentException("CatchUpProjectionOptions.BatchSize must be at least 1.");
        }

        if (PollInterval <= TimeSpan.Zero || RetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException("CatchUpProjectionOptions.PollInterval must be positive and RetryDelay not negative.");
        }
    }
}
