namespace Switchboard;

/// <summary>
/// What incoming middleware sees of one handler invocation: the message, the handler, the message's
/// <see cref="Switchboard.MessageContext"/> (ids, headers, attempt, items, DI scope, transaction, cascading) and, for a
/// command or request, the handler's result.
/// </summary>
/// <remarks>Valid only until the middleware's task completes: the bus reuses it for the next handler.</remarks>
public sealed class IncomingContext
{
    private object? _result;

    internal IncomingContext(MessageContext messageContext) => MessageContext = messageContext;

    /// <summary>Gets the message being handled.</summary>
    public object Message { get; private set; } = null!;

    /// <summary>Gets the message's concrete type.</summary>
    public Type MessageType => Message.GetType();

    /// <summary>Gets the name of the handler the pipeline runs around (class name, or delegate's declaring method).</summary>
    public string HandlerName => Invoker!.Name;

    /// <summary>Gets the type of the handler's result, or <see langword="null"/> for a handler without one.</summary>
    public Type? ResultType => Invoker!.ResultType;

    /// <summary>Gets the message's context: ids, headers, attempt, items shared by its handlers, DI scope, transaction, cascading.</summary>
    public MessageContext MessageContext { get; }

    /// <summary>Gets the token the handler receives.</summary>
    public CancellationToken CancellationToken { get; private set; }

    /// <summary>Gets whether <see cref="Result"/> was set, by the handler (through <c>next</c>) or by a middleware.</summary>
    public bool HasResult { get; private set; }

    /// <summary>
    /// Gets or sets the handler's result (a command's or request's). Set by the handler when <c>next</c> completes; a
    /// middleware may replace it, or set it without calling <c>next</c> to answer in the handler's place. Must be
    /// assignable to <see cref="ResultType"/>.
    /// </summary>
    public object? Result
    {
        get => _result;
        set
        {
            if (value is not null && ResultType is not null && !ResultType.IsInstanceOfType(value))
            {
                throw new ArgumentException($"The handler {HandlerName} returns {ResultType.Name}; a {value.GetType().Name} cannot be its result.", nameof(value));
            }

            _result = value;
            HasResult = true;
        }
    }

    /// <summary>The wrapped handler the pipeline ends in.</summary>
    internal Dispatch.HandlerInvoker? Invoker { get; private set; }

    /// <summary>Sets the handler's own result, whose type the invoker guarantees.</summary>
    internal void SetResult(object? result)
    {
        _result = result;
        HasResult = true;
    }

    internal void Initialize(Dispatch.HandlerInvoker invoker, object message, CancellationToken cancellationToken)
    {
        // Only what changes per invocation: the rest is read from the invoker and the message when asked for.
        Invoker = invoker;
        Message = message;
        CancellationToken = cancellationToken;
        _result = null;
        HasResult = false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{MessageType.Name} → {HandlerName}";
}
