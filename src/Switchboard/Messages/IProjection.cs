namespace Switchboard;

/// <summary>
/// A read model that subscribes to a fixed set of event types at once (seed 001's <c>subscribed_to</c>),
/// registered with <see cref="IMessageBus.SubscribeAll(IProjection)"/>.
/// </summary>
public interface IProjection
{
    /// <summary>Gets the event types this projection receives. Read once, when the projection is subscribed.</summary>
    IReadOnlyCollection<Type> SubscribedTo { get; }

    /// <summary>Handles one event of a subscribed type (or a type derived from one).</summary>
    /// <param name="event">The event.</param>
    /// <param name="cancellationToken">Cancelled when the publisher gives up or the bus stops.</param>
    /// <returns>A task that completes when the event is applied.</returns>
    ValueTask HandleAsync(object @event, CancellationToken cancellationToken);
}
