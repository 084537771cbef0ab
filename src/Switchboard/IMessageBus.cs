namespace Switchboard;

/// <summary>
/// The bus: publish events to every handler, send commands and requests to their one handler, subscribe at run time, to
/// string topics and as async streams, and create isolated scopes. One API whether handlers run in this process or behind
/// a broker.
/// </summary>
/// <remarks>
/// Switchboard implements this interface (<see cref="MessageBus.Create(Action{BusBuilder})"/>, <c>AddSwitchboard</c>,
/// <see cref="CreateScope(string)"/>); it is not meant to be implemented elsewhere. For tests, use a real bus: the
/// <c>Switchboard.Testing</c> package records what it handles. Publishing, sending and requesting are non-virtual
/// members, so a call through the interface costs no generic virtual dispatch.
/// </remarks>
public interface IMessageBus : IAsyncDisposable
{
    /// <summary>
    /// Gets the bus behind this interface. The generic entry points forward to it directly: a generic method that is
    /// virtual costs a runtime lookup on every call (about 5 ns), more than the rest of an in-process publish.
    /// </summary>
    internal Bus.SwitchboardBus Core { get; }

    /// <summary>Gets the bus's name (a scope's name for a scope).</summary>
    string Name { get; }

    /// <summary>
    /// Publishes an event to every handler of its type, handlers of its base types and interfaces included, and to runtime
    /// subscribers. Zero handlers is fine. A handler's exception is isolated by default (see <see cref="BusOptions.HandlerErrors"/>).
    /// </summary>
    /// <typeparam name="TEvent">The event type; the routing uses the event's runtime type.</typeparam>
    /// <param name="event">The event.</param>
    /// <param name="options">Background publishing, error mode, correlation id, headers; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Checked before anything is dispatched, then passed to the handlers.</param>
    /// <returns>A task that completes when every handler finished (or, in the background, when the event is queued).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="event"/> is null.</exception>
    /// <exception cref="BusStoppedException">The bus is shutting down or shut down.</exception>
    /// <exception cref="AggregateException">A handler threw and the error mode is <see cref="HandlerErrorMode.Throw"/>.</exception>
    sealed ValueTask PublishAsync<TEvent>(TEvent @event, PublishOptions? options = null, CancellationToken cancellationToken = default)
        => Core.PublishAsync(@event, options, cancellationToken);

    /// <summary>Publishes several events, one after the other: every handler sees them in the order given.</summary>
    /// <param name="events">The events; none may be null.</param>
    /// <param name="options">As for a single publish.</param>
    /// <param name="cancellationToken">Checked before each event.</param>
    /// <returns>A task that completes when every event was published.</returns>
    ValueTask PublishBatchAsync(IEnumerable<object> events, PublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Publishes a payload on a string topic to every subscriber whose pattern matches (<c>*</c> one segment, <c>#</c> any tail).</summary>
    /// <param name="topic">The literal topic, for example <c>orders/created</c>.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="cancellationToken">Checked before dispatching, then passed to the subscribers.</param>
    /// <returns>A task that completes when every subscriber finished.</returns>
    ValueTask PublishAsync(string topic, object payload, CancellationToken cancellationToken = default);

    /// <summary>Sends a command to its one handler (registered for exactly its type); any result is discarded.</summary>
    /// <typeparam name="TCommand">The command type.</typeparam>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Passed to the handler.</param>
    /// <returns>A task that completes when the handler finished; the handler's exception propagates.</returns>
    /// <exception cref="NoHandlerException">No handler is registered for the command's type.</exception>
    /// <exception cref="InvalidOperationException">Several handlers are registered for the command's type.</exception>
    sealed ValueTask SendAsync<TCommand>(TCommand command, CancellationToken cancellationToken = default)
        => Core.SendAsync(command, cancellationToken);

    /// <summary>Sends a request to its one handler and returns the result.</summary>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="request">The request.</param>
    /// <param name="options">Timeout, correlation id, headers.</param>
    /// <param name="cancellationToken">Passed to the handler.</param>
    /// <returns>The handler's result.</returns>
    /// <exception cref="NoHandlerException">No handler is registered for the request's type.</exception>
    /// <exception cref="TimeoutException">The result did not arrive within the timeout.</exception>
    sealed ValueTask<TResult> RequestAsync<TResult>(IRequest<TResult> request, RequestOptions? options = null, CancellationToken cancellationToken = default)
        => Core.RequestAsync(request, options, cancellationToken);

    /// <summary>
    /// The unified entry point of seed 000: enqueues the message on the bus's queue (its transport) for a worker, and with
    /// <see cref="ExecuteOptions.Wait"/> (the default) waits for the handler's result through the response store.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="options">Wait, timeout, response TTL.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The handler's result (null for a handler without one), or null when not waiting.</returns>
    /// <exception cref="TimeoutException">The result did not arrive within the timeout.</exception>
    /// <exception cref="HandlerFailedException">The handler failed on its last attempt.</exception>
    ValueTask<object?> ExecuteAsync(object message, ExecuteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Sends several commands in order (seed 004's <c>batch_handle</c>) and returns their results in the same order (null for a handler without one).</summary>
    /// <param name="messages">The commands.</param>
    /// <param name="cancellationToken">Checked before each command.</param>
    /// <returns>The results, in order.</returns>
    ValueTask<IReadOnlyList<object?>> SendBatchAsync(IEnumerable<object> messages, CancellationToken cancellationToken = default);

    /// <summary>Subscribes a handler to events of type <typeparamref name="T"/> (and derived types), effective when this call returns.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription Subscribe<T>(Action<T> handler);

    /// <summary>Subscribes an asynchronous handler to events of type <typeparamref name="T"/>, effective when this call returns.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription Subscribe<T>(Func<T, CancellationToken, ValueTask> handler);

    /// <summary>Subscribes an object handler to events of type <typeparamref name="T"/>, effective when this call returns.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription Subscribe<T>(IHandler<T> handler);

    /// <summary>Subscribes to string topics matching <paramref name="pattern"/>, effective when this call returns (seed 002's <c>sync_on</c>).</summary>
    /// <param name="pattern">A topic pattern: <c>orders/created</c>, <c>orders/*</c>, <c>orders/#</c>.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription Subscribe(string pattern, Action<TopicMessage> handler);

    /// <summary>Subscribes an asynchronous handler to string topics matching <paramref name="pattern"/>.</summary>
    /// <param name="pattern">A topic pattern.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription Subscribe(string pattern, Func<TopicMessage, CancellationToken, ValueTask> handler);

    /// <summary>Subscribes a projection to every type in its <see cref="IProjection.SubscribedTo"/>.</summary>
    /// <param name="projection">The projection.</param>
    /// <returns>One subscription for all its types.</returns>
    Subscription SubscribeAll(IProjection projection);

    /// <summary>Subscribes a handler to every typed event published on this bus (not to topic events).</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    Subscription SubscribeToAll(Func<object, CancellationToken, ValueTask> handler);

    /// <summary>
    /// Opens an async stream of the events of type <typeparamref name="T"/> published from now on: registered when this
    /// call returns, so a request sent afterwards cannot be missed (seed 003). Events published while nobody streams are
    /// stored nowhere.
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="options">The buffer's capacity and full mode.</param>
    /// <returns>The stream; dispose it, or leave its <c>await foreach</c>, to unsubscribe.</returns>
    EventStream<T> Stream<T>(StreamOptions? options = null);

    /// <summary>
    /// Creates an isolated scope: its runtime subscriptions, topic subscriptions and streams see only events published
    /// through the scope, and the parent's never see the scope's. Handlers registered on the builder serve every scope.
    /// </summary>
    /// <param name="name">The scope's name, for logs and spans.</param>
    /// <returns>The scope; dispose it to remove its subscriptions and end its streams.</returns>
    IMessageBus CreateScope(string name);

    /// <summary>Returns the bus's counters.</summary>
    /// <returns>A snapshot.</returns>
    BusStatistics GetStatistics();

    /// <summary>
    /// Stops accepting messages (calls afterwards throw <see cref="BusStoppedException"/>), stops taking messages from the
    /// transport while its workers finish the ones they hold, then lets in-flight handlers and queued background publishes
    /// finish, all within <paramref name="timeout"/>. In-process handlers are never cancelled; what did not finish is reported.
    /// </summary>
    /// <param name="timeout">How long to wait for in-flight and queued work.</param>
    /// <returns>What finished and what was abandoned.</returns>
    ValueTask<ShutdownReport> ShutdownAsync(TimeSpan timeout);
}
