using System.Data.Common;
using Switchboard.Transport;

namespace Switchboard.Outbox;

/// <summary>
/// The transactional outbox (seed 004's <c>register_outbox_message</c> / <c>process_outbox</c>): messages written in the
/// same database transaction as the data that caused them, dispatched after that transaction commits — never before, never
/// lost, never for a transaction that rolled back.
/// </summary>
/// <remarks>
/// Get it with <see cref="OutboxBusExtensions.GetOutbox(IMessageBus)"/> or from dependency injection. A message added here
/// goes where <see cref="IMessageBus.PublishAsync{TEvent}(TEvent, PublishOptions?, CancellationToken)"/> or
/// <see cref="IMessageBus.SendAsync{TCommand}(TCommand, CancellationToken)"/> would send it: to the transport for types routed
/// there, otherwise to this process's handlers.
/// </remarks>
public interface IOutbox
{
    /// <summary>Gets the store the outbox writes to.</summary>
    IOutboxStore Store { get; }

    /// <summary>
    /// Gets the dead rows: messages whose dispatch failed every attempt, or that could not be read, with the reason. Replaying
    /// one makes it pending again.
    /// </summary>
    IDeadLetterQueue DeadLetters { get; }

    /// <summary>Adds an event to the outbox in the caller's transaction; it is published once that transaction commits.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="transaction">The open transaction that writes the data the event reports.</param>
    /// <param name="event">The event.</param>
    /// <param name="options">Message id, correlation id, headers, partition key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the row is written (not yet committed).</returns>
    ValueTask PublishAsync<TEvent>(DbTransaction transaction, TEvent @event, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Adds a command to the outbox in the caller's transaction; it is sent to its one handler once that transaction commits.</summary>
    /// <typeparam name="TCommand">The command type.</typeparam>
    /// <param name="transaction">The open transaction.</param>
    /// <param name="command">The command.</param>
    /// <param name="options">Message id, correlation id, headers, partition key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the row is written (not yet committed).</returns>
    /// <exception cref="NoHandlerException">No handler and no transport route for the command's type.</exception>
    ValueTask SendAsync<TCommand>(DbTransaction transaction, TCommand command, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Dispatches every due row now, in this call (seed 004's <c>process_outbox</c>, for jobs and tests), alongside any
    /// background dispatcher: claims keep them from sending a row twice.
    /// </summary>
    /// <param name="cancellationToken">Stops after the current batch.</param>
    /// <returns>How many rows were dispatched.</returns>
    ValueTask<int> ProcessAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads the outbox's counters and current backlog.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The statistics.</returns>
    ValueTask<OutboxStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default);
}

/// <summary>Per-message settings of a message added to the outbox.</summary>
public sealed class OutboxMessageOptions
{
    /// <summary>Gets or sets the message id; generated when <see langword="null"/>. A consumer's inbox deduplicates on it.</summary>
    public string? MessageId { get; set; }

    /// <summary>Gets or sets the correlation id; the message id when <see langword="null"/>.</summary>
    public string? CorrelationId { get; set; }

    /// <summary>Gets or sets the partition key: messages with the same key are dispatched in the order written. Defaults to the key chosen by <see cref="BusBuilder.PartitionBy{T}(Func{T, string?})"/> for the message's type, else a <see cref="DomainEvent"/>'s aggregate id.</summary>
    public string? PartitionKey { get; set; }

    /// <summary>Gets or sets extra headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; set; }
}

/// <summary>What an outbox did and holds.</summary>
public sealed record OutboxStatistics
{
    /// <summary>Gets the rows not yet dispatched.</summary>
    public long Pending { get; init; }

    /// <summary>Gets the rows parked as dead.</summary>
    public long Dead { get; init; }

    /// <summary>Gets how long the oldest pending row has waited, or <see cref="TimeSpan.Zero"/>.</summary>
    public TimeSpan OldestPendingAge { get; init; }

    /// <summary>Gets how many rows this process added.</summary>
    public long Added { get; init; }

    /// <summary>Gets how many rows this process dispatched.</summary>
    public long Dispatched { get; init; }

    /// <summary>Gets how many dispatch attempts failed in this process (each is retried or parked as dead).</summary>
    public long Failed { get; init; }

    /// <summary>Gets how many rows this process parked as dead.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Gets how many messages the inbox of this process recognized as duplicates and did not handle again.</summary>
    public long DuplicatesSkipped { get; init; }
}
