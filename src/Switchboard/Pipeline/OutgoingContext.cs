using Switchboard.Bus;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard;

/// <summary>How a message was handed to the bus, as <see cref="OutgoingContext.Kind"/> reports it.</summary>
public enum OutgoingKind
{
    /// <summary>An event: <c>PublishAsync</c>, <c>PublishBatchAsync</c>, a background publish or a cascaded publish.</summary>
    Publish,

    /// <summary>A command: <c>SendAsync</c>, <c>SendBatchAsync</c> or a cascaded send.</summary>
    Send,

    /// <summary>A request waiting for its result: <c>RequestAsync</c>.</summary>
    Request,

    /// <summary>A message queued for a worker: <c>ExecuteAsync</c>.</summary>
    Execute,
}

/// <summary>
/// What outgoing middleware sees of one message on its way out: the message, how it was sent, where it goes, the headers
/// it will carry and, for a request, its result.
/// </summary>
/// <remarks>Valid only until the middleware's task completes.</remarks>
public sealed class OutgoingContext
{
    private Dictionary<string, string>? _headers;
    private object? _result;
    private string? _messageId;

    internal OutgoingContext(SwitchboardBus bus, OutgoingKind kind, MessageRoute route, object message, in MessageMetadata metadata, string? destination, bool throughOutbox, Type? resultType, CancellationToken cancellationToken)
    {
        Bus = bus;
        Kind = kind;
        Route = route;
        Message = message;
        Metadata = metadata;
        Destination = destination;
        ThroughOutbox = throughOutbox;
        ResultType = resultType;
        CancellationToken = cancellationToken;
        _messageId = metadata.MessageId;
        CorrelationId = metadata.CorrelationId;
    }

    /// <summary>Gets the message.</summary>
    public object Message { get; }

    /// <summary>Gets the message's concrete type.</summary>
    public Type MessageType => Route.MessageType;

    /// <summary>Gets how the message was handed to the bus.</summary>
    public OutgoingKind Kind { get; }

    /// <summary>
    /// Gets the transport destination (stream, queue, topic) when the message leaves this process, or
    /// <see langword="null"/> when it is handled here. An outbox row for this process's handlers has none either.
    /// </summary>
    public string? Destination { get; }

    /// <summary>
    /// Gets how many handlers registered on the builder this message reaches in this process: for a publish, those of its
    /// type, base types and interfaces; for a send or request, those of exactly its type. Zero when it is routed to a
    /// transport. Runtime subscriptions are not counted.
    /// </summary>
    public int LocalHandlers => Route.Destination is not null ? 0 : Kind == OutgoingKind.Publish ? Route.Handlers.Length : Route.ExactHandlers.Length;

    /// <summary>Gets whether the message is written into the outbox (in the application's transaction) rather than dispatched now.</summary>
    public bool ThroughOutbox { get; }

    /// <summary>Gets the type of the result the sender waits for (<see cref="OutgoingKind.Request"/>, a waiting <see cref="OutgoingKind.Execute"/>), or <see langword="null"/>.</summary>
    public Type? ResultType { get; }

    /// <summary>Gets the message's id, generated on first read; handlers and receivers see the same id.</summary>
    public string MessageId => _messageId ??= MessageIds.New();

    /// <summary>Gets or sets the conversation id; <see langword="null"/> lets the bus use the message id.</summary>
    public string? CorrelationId { get; set; }

    /// <summary>
    /// Gets the headers the message will carry: those given by the caller, and what middleware adds. In process they reach
    /// <see cref="MessageContext.Headers"/>; over a transport they travel in the envelope.
    /// </summary>
    public IDictionary<string, string> Headers
        => _headers ??= Metadata.Headers is { } given ? new Dictionary<string, string>(given, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets the token of the call that sent the message.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Gets whether <see cref="Result"/> was set.</summary>
    public bool HasResult { get; private set; }

    /// <summary>
    /// Gets or sets the result of a request or waiting execute: the handler's (or the remote worker's) when <c>next</c>
    /// completes. A middleware may set it without calling <c>next</c> to answer in the handler's place (a cache, a test
    /// double). Must be assignable to <see cref="ResultType"/>.
    /// </summary>
    public object? Result
    {
        get => _result;
        set
        {
            if (value is not null && ResultType is not null && ResultType != typeof(System.Text.Json.JsonElement) && !ResultType.IsInstanceOfType(value))
            {
                throw new ArgumentException($"{MessageType.Name} expects a {ResultType.Name}; a {value.GetType().Name} cannot be its result.", nameof(value));
            }

            _result = value;
            HasResult = true;
        }
    }

    internal SwitchboardBus Bus { get; }

    /// <summary>Sets the result the routing brought back, whose type the bus guarantees.</summary>
    internal void SetResult(object? result)
    {
        _result = result;
        HasResult = true;
    }

    internal MessageRoute Route { get; }

    internal MessageMetadata Metadata { get; }

    /// <summary>Set by the pipeline's last step for a message written to the outbox.</summary>
    internal Transport.TransportMessage? Encoded { get; set; }

    /// <summary>What the bus needs to route the message after the pipeline (a publish's error mode, a request's options...).</summary>
    internal object? State { get; init; }

    internal HandlerErrorMode Mode { get; init; }

    internal bool HasMetadata { get; init; }

    /// <summary>The metadata the message goes on with: the caller's, with what middleware read or changed.</summary>
    internal MessageMetadata FinalMetadata(out bool changed)
    {
        changed = _headers is not null || _messageId != Metadata.MessageId || CorrelationId != Metadata.CorrelationId;
        return changed
            ? Metadata with { MessageId = _messageId ?? Metadata.MessageId ?? MessageIds.New(), CorrelationId = CorrelationId, Headers = _headers ?? Metadata.Headers }
            : Metadata;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {MessageType.Name}{(Destination is null ? string.Empty : " → " + Destination)}";
}
