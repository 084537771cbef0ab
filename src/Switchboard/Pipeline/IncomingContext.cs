using Microsoft.Extensions.DependencyInjection;
using Switchboard.Dispatch;

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
    private MessageContext? _messageContext;

    // The lean path's own (see SwitchboardBus.PipelineFast): the message context is made only when something asks for it.
    private readonly bool _lean;
    private MessageContext? _spare;
    private IMessageDispatcher? _dispatcher;
    private IServiceScopeFactory? _scopeFactory;

    /// <summary>The view of one message context, reused for each of its handlers.</summary>
    internal IncomingContext(MessageContext messageContext) => _messageContext = messageContext;

    /// <summary>A lean context: its <see cref="MessageContext"/> is prepared on first read (a pooled one, kept for the next message).</summary>
    internal IncomingContext() => _lean = true;

    /// <summary>Gets the message being handled.</summary>
    public object Message { get; private set; } = null!;

    /// <summary>Gets the message's concrete type.</summary>
    public Type MessageType => Message.GetType();

    /// <summary>Gets the name of the handler the pipeline runs around (class name, or delegate's declaring method).</summary>
    public string HandlerName => Invoker!.Name;

    /// <summary>Gets the type of the handler's result, or <see langword="null"/> for a handler without one.</summary>
    public Type? ResultType => Invoker!.ResultType;

    /// <summary>Gets the message's context: ids, headers, attempt, items shared by its handlers, DI scope, transaction, cascading.</summary>
    public MessageContext MessageContext => _messageContext ?? Materialize();

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
    internal HandlerInvoker? Invoker { get; private set; }

    /// <summary>Sets the handler's own result, whose type the invoker guarantees.</summary>
    internal void SetResult(object? result)
    {
        _result = result;
        HasResult = true;
    }

    /// <summary>Whether the lean path has this context out (see <c>SwitchboardBus.RentLeanIncoming</c>).</summary>
    internal bool Leased;

    /// <summary>Gets the message context if one was made (always, for a context that is not lean).</summary>
    internal MessageContext? Materialized => _messageContext;

    /// <summary>Gets whether the lean invocation left nothing behind: no message context was asked for, or it is clean.</summary>
    internal bool IsClean => _messageContext is not { } context || context.IsClean;

    /// <summary>
    /// Prepares a lean context for a message without metadata. What repeats from one message to the next (bus, scope
    /// factory, handler, token) is compared before it is written: each write of a reference is a GC write barrier.
    /// </summary>
    internal void InitializeLean(IMessageDispatcher dispatcher, IServiceScopeFactory? scopeFactory, HandlerInvoker invoker, object message, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_dispatcher, dispatcher))
        {
            _dispatcher = dispatcher;
        }

        if (!ReferenceEquals(_scopeFactory, scopeFactory))
        {
            _scopeFactory = scopeFactory;
        }

        if (!ReferenceEquals(Invoker, invoker))
        {
            Invoker = invoker;
        }

        if (!CancellationToken.Equals(cancellationToken))
        {
            CancellationToken = cancellationToken;
        }

        Message = message;
    }

    /// <summary>Clears a lean context for its next message: the result, the message, and the message context if one was made.</summary>
    internal void ReleaseLean()
    {
        Message = null!;
        _result = null;
        HasResult = false;
        if (_messageContext is { } context)
        {
            context.Reset();
            _messageContext = null;
        }
    }

    private MessageContext Materialize()
    {
        if (!_lean)
        {
            throw new InvalidOperationException("The incoming context has no message context.");
        }

        MessageContext context = _spare ??= new MessageContext();
        context.Initialize(_dispatcher!, Message, _scopeFactory);
        _messageContext = context;
        return context;
    }

    internal void Initialize(HandlerInvoker invoker, object message, CancellationToken cancellationToken)
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
