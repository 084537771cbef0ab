using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Dispatch;
using Switchboard.Pipeline;

namespace Switchboard;

/// <summary>
/// What a handler knows about the message it handles: its ids, headers and attempt, a bag of per-message items shared by
/// the handlers of one message, the DI scope, and the means to publish or send further messages.
/// </summary>
/// <remarks>
/// <para>
/// Messages published or sent through the context are held until the handler returns successfully and are dispatched, in
/// order, once every handler of the current message has run (so that observers see the cause before its effects), carrying this message's correlation id and its message id as their causation id. If the handler throws, none
/// of them is ever dispatched. A context is valid only until the handler's task completes: the bus reuses it afterwards.
/// </para>
/// <para>
/// On a bus with an outbox, cascaded events and commands go through it: written at once in <see cref="Transaction"/> when the
/// message is handled in one (the inbox's unit of work, or one the handler enlisted with <see cref="UseTransaction"/>), so that
/// they commit or roll back with the handler's data; otherwise written in a transaction of their own after the handler
/// succeeded. Topic messages are always dispatched directly.
/// </para>
/// </remarks>
public sealed class MessageContext
{
    private static readonly IReadOnlyDictionary<string, string> s_noHeaders = new Dictionary<string, string>();

    private string? _messageId;
    private string? _correlationId;
    private Dictionary<string, object?>? _items;
    private List<CascadedMessage>? _cascaded;
    private List<CascadedMessage>? _committed;
    private IReadOnlyDictionary<string, string>? _headers;
    private DbTransaction? _transaction;

    internal MessageContext()
    {
    }

    /// <summary>Gets the message's unique id; generated on first read for in-process messages.</summary>
    public string MessageId => _messageId ??= MessageIds.New();

    /// <summary>Gets the id shared by every message of one conversation; the message id when the message started it.</summary>
    public string CorrelationId => _correlationId ?? MessageId;

    /// <summary>Gets the id of the message whose handler caused this one, or <see langword="null"/> for a message sent by application code.</summary>
    public string? CausationId { get; private set; }

    /// <summary>Gets the message's headers (CloudEvents attribute names for the standard ones; see <see cref="MessageHeaders"/>).</summary>
    public IReadOnlyDictionary<string, string> Headers => _headers ?? s_noHeaders;

    /// <summary>Gets the delivery attempt, 1 for the first; greater after a transport redelivered the message for a retry.</summary>
    public int Attempt { get; private set; } = 1;

    /// <summary>Gets the topic for a message published on a string topic; otherwise <see langword="null"/>.</summary>
    public string? Topic { get; private set; }

    /// <summary>Gets the message being handled.</summary>
    public object Message { get; private set; } = null!;

    /// <summary>Gets per-message data shared by every handler of this message (seed 004's <c>context</c>).</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// Gets the service provider of the DI scope created for this message (created on first use, disposed when the message
    /// is done) on a bus registered with <c>AddSwitchboard</c>; <see langword="null"/> on a standalone bus.
    /// </summary>
    public IServiceProvider? Services
    {
        get
        {
            if (_scope is { } scope)
            {
                return scope.ServiceProvider;
            }

            if (_scopeFactory is { } factory)
            {
                AsyncServiceScope created = factory.CreateAsyncScope();
                _scope = created;
                return created.ServiceProvider;
            }

            return null;
        }
    }

    private IServiceScopeFactory? _scopeFactory;
    private AsyncServiceScope? _scope;

    internal IMessageDispatcher Dispatcher { get; private set; } = null!;

    private IncomingContext? _incoming;
    private List<object>? _owned;

    /// <summary>Gets the incoming middleware's view of this message, reused for each of its handlers (and with this context).</summary>
    internal IncomingContext Incoming => _incoming ??= new IncomingContext(this);

    /// <summary>Takes a handler instance the bus created for this message outside the container: disposed when the message is done.</summary>
    internal void Own(object instance) => (_owned ??= []).Add(instance);

    /// <summary>Gets whether the handler left nothing to do after it: no cascaded message, no DI scope, no instance to dispose.</summary>
    internal bool IsClean => _cascaded is not { Count: > 0 } && _committed is null && _scope is null && _owned is null;

    /// <summary>Gets whether handlers that succeeded left messages to dispatch.</summary>
    internal bool HasCommitted => _committed is { Count: > 0 };

    /// <summary>
    /// Gets the database transaction this message is handled in: the inbox's unit of work on a bus with an outbox (commit is
    /// the bus's job, after the handlers succeeded), or the one a handler enlisted with <see cref="UseTransaction"/>.
    /// <see langword="null"/> otherwise. Write the handler's data through <c>Transaction.Connection</c> in it.
    /// </summary>
    public DbTransaction? Transaction => _transaction;

    /// <summary>
    /// Enlists the handler's own transaction: on a bus with an outbox, messages published or sent through this context from now
    /// on are written into it, and so are dispatched if and only if it commits. The handler commits or rolls it back.
    /// </summary>
    /// <param name="transaction">The open transaction, on a connection to the outbox's database.</param>
    /// <exception cref="InvalidOperationException">The message is already handled in another transaction (the inbox's).</exception>
    public void UseTransaction(DbTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (_transaction is not null && !ReferenceEquals(_transaction, transaction))
        {
            throw new InvalidOperationException(
                "This message is already handled in a transaction (the inbox's unit of work): write through MessageContext.Transaction instead of starting another.");
        }

        _transaction = transaction;
    }

    /// <summary>
    /// Publishes an event once the current handler has returned successfully. If the handler throws, the event is discarded.
    /// </summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="event">The event.</param>
    /// <param name="cancellationToken">Checked now; the event is dispatched with the handler's token.</param>
    /// <returns>A task that completes when the event is recorded (not yet dispatched).</returns>
    public ValueTask PublishAsync<TEvent>(TEvent @event, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(@event);
        cancellationToken.ThrowIfCancellationRequested();
        if (_transaction is not null && Dispatcher.Outbox is { Options.CascadeThroughOutbox: true } outbox)
        {
            return outbox.AddThroughPipelineAsync(_transaction, OutgoingKind.Publish, @event, ChildMetadata(), null, cancellationToken);
        }

        (_cascaded ??= new List<CascadedMessage>(2)).Add(new CascadedMessage(CascadeKind.Publish, @event, null));
        return default;
    }

    /// <summary>Publishes a payload on a string topic once the current handler has returned successfully.</summary>
    /// <param name="topic">The topic, for example <c>orders/created</c>.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="cancellationToken">Checked now; the event is dispatched with the handler's token.</param>
    /// <returns>A task that completes when the event is recorded (not yet dispatched).</returns>
    public ValueTask PublishAsync(string topic, object payload, CancellationToken cancellationToken = default)
    {
        Routing.TopicPattern.ValidateTopic(topic);
        ArgumentNullException.ThrowIfNull(payload);
        cancellationToken.ThrowIfCancellationRequested();
        (_cascaded ??= new List<CascadedMessage>(2)).Add(new CascadedMessage(CascadeKind.Topic, payload, topic));
        return default;
    }

    /// <summary>
    /// Sends a command to its one handler once the current handler has returned successfully. If the handler throws, the
    /// command is discarded. A missing handler is reported now, not after the handler returns (unless outgoing middleware
    /// applies to the command: it may answer, record or drop it, so the check happens where the pipeline routes it).
    /// </summary>
    /// <typeparam name="TCommand">The command type.</typeparam>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Checked now; the command is dispatched with the handler's token.</param>
    /// <returns>A task that completes when the command is recorded (not yet dispatched).</returns>
    public ValueTask SendAsync<TCommand>(TCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        cancellationToken.ThrowIfCancellationRequested();
        Dispatcher.EnsureCommandHandler(command.GetType());
        if (_transaction is not null && Dispatcher.Outbox is { Options.CascadeThroughOutbox: true } outbox)
        {
            return outbox.AddThroughPipelineAsync(_transaction, OutgoingKind.Send, command, ChildMetadata(), null, cancellationToken);
        }

        (_cascaded ??= new List<CascadedMessage>(2)).Add(new CascadedMessage(CascadeKind.Send, command, null));
        return default;
    }

    /// <summary>Ends a unit of work a middleware enlisted with <see cref="UseTransaction"/>, so that the next handler can start its own.</summary>
    internal void LeaveTransaction(DbTransaction transaction)
    {
        if (ReferenceEquals(_transaction, transaction))
        {
            _transaction = null;
        }
    }

    internal void Initialize(IMessageDispatcher dispatcher, object message, in MessageMetadata metadata, IServiceScopeFactory? scopeFactory)
    {
        Dispatcher = dispatcher;
        Message = message;
        _messageId = metadata.MessageId;
        _correlationId = metadata.CorrelationId;
        CausationId = metadata.CausationId;
        _headers = metadata.Headers;
        Attempt = metadata.Attempt <= 0 ? 1 : metadata.Attempt;
        Topic = metadata.Topic;
        _transaction = metadata.Transaction;
        _scopeFactory = scopeFactory;
    }

    /// <summary>
    /// Prepares a context fresh from <see cref="Reset"/> (or new) for a message without metadata: only what differs from the
    /// reset state is written.
    /// </summary>
    internal void Initialize(IMessageDispatcher dispatcher, object message, IServiceScopeFactory? scopeFactory)
    {
        Dispatcher = dispatcher;
        Message = message;
        _scopeFactory = scopeFactory;
    }

    /// <summary>The metadata that a message caused by this one carries.</summary>
    internal MessageMetadata ChildMetadata() => new(MessageIds.New(), CorrelationId, MessageId, null, 1, null);

    /// <summary>The current handler succeeded: its messages will be dispatched once every handler of this message ran.</summary>
    internal void CommitCascaded()
    {
        if (_cascaded is { Count: > 0 } cascaded)
        {
            if (_committed is null)
            {
                _committed = cascaded;
            }
            else
            {
                _committed.AddRange(cascaded);
            }

            _cascaded = null;
        }
    }

    /// <summary>The current handler failed: its messages are never seen.</summary>
    internal void DiscardCascaded() => _cascaded?.Clear();

    internal List<CascadedMessage>? TakeCommitted()
    {
        List<CascadedMessage>? committed = _committed;
        _committed = null;
        return committed;
    }

    /// <summary>Ends the message's DI scope, if one was created.</summary>
    internal ValueTask EndScopeAsync()
    {
        AsyncServiceScope? scope = _scope;
        _scope = null;
        if (_owned is not null)
        {
            return DisposeOwnedAsync(scope);
        }

        return scope?.DisposeAsync() ?? default;
    }

    private async ValueTask DisposeOwnedAsync(AsyncServiceScope? scope)
    {
        List<object> owned = _owned!;
        _owned = null;
        try
        {
            await HandlerDisposal.DisposeAllAsync(owned).ConfigureAwait(false);
        }
        finally
        {
            if (scope is { } ending)
            {
                await ending.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    internal void Reset()
    {
        Dispatcher = null!;
        Message = null!;
        _messageId = null;
        _correlationId = null;
        CausationId = null;
        _headers = null;
        _items = null;
        _cascaded = null;
        _committed = null;
        _scopeFactory = null;
        _scope = null;
        _owned = null;
        _transaction = null;
        Attempt = 1;
        Topic = null;
    }
}

internal enum CascadeKind
{
    Publish,
    Topic,
    Send,
}

internal readonly record struct CascadedMessage(CascadeKind Kind, object Message, string? Topic);
