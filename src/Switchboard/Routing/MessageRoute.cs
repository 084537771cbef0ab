using Switchboard.Dispatch;

namespace Switchboard.Routing;

/// <summary>
/// Where messages of one concrete type go: computed once per type (at build for registered types, on first use for
/// others) and never changed afterwards.
/// </summary>
internal sealed class MessageRoute
{
    public MessageRoute(Type messageType, string typeName, HandlerInvoker[] handlers, HandlerInvoker[] exactHandlers, string? destination, OutgoingNext? outgoing = null)
    {
        MessageType = messageType;
        TypeName = typeName;
        Destination = destination;
        Outgoing = outgoing;
        Handlers = handlers;
        ExactHandlers = exactHandlers;
        for (int i = 0; i < handlers.Length; i++)
        {
            NeedsContext |= handlers[i].NeedsContext;
        }

        InProcessWithoutContext = destination is null && !NeedsContext && outgoing is null;
        (FastHandlers, FastStarts) = Fuse(handlers);
        if (destination is null && outgoing is null && handlers.Length == 1 && handlers[0] is Pipeline.IPipelineHandler)
        {
            PipelineHandler = handlers[0];
        }

        if (exactHandlers.Length == 1)
        {
            CommandHandler = exactHandlers[0];
            if (destination is null && !CommandHandler.NeedsContext && outgoing is null)
            {
                LocalCommandHandler = CommandHandler;
            }

            if (ReferenceEquals(CommandHandler, PipelineHandler))
            {
                PipelineCommandHandler = PipelineHandler;
            }
        }
    }

    /// <summary>
    /// Gets the outgoing middleware chain of this type (ending in the bus's routing), or <see langword="null"/> when none
    /// applies. A route with one never takes the fast paths.
    /// </summary>
    public OutgoingNext? Outgoing { get; }

    /// <summary>Gets the concrete message type.</summary>
    public Type MessageType { get; }

    /// <summary>Gets the type's stable name (the wire name, and the span and metric name).</summary>
    public string TypeName { get; }

    /// <summary>Gets the transport destination when the type is routed through the transport; <see langword="null"/> when handled in process.</summary>
    public string? Destination { get; }

    /// <summary>Gets every handler a published message of this type reaches, in registration order, including handlers of base types.</summary>
    public HandlerInvoker[] Handlers { get; }

    /// <summary>
    /// Gets <see cref="Handlers"/> with runs of fusable neighbours (synchronous delegates of one type) fused into one
    /// invoker each: what the publish fast path calls, one virtual call for the run instead of one per handler. A fused
    /// invoker reports a failure as <see cref="FusedHandlerException"/> with the failing handler's position in its run.
    /// </summary>
    public HandlerInvoker[] FastHandlers { get; }

    /// <summary>Gets, for each of <see cref="FastHandlers"/>, the index in <see cref="Handlers"/> of its first handler.</summary>
    public int[] FastStarts { get; }

    /// <summary>Returns the index in <see cref="Handlers"/> of the last handler that <see cref="FastHandlers"/>[<paramref name="fastIndex"/>] runs.</summary>
    public int FastLast(int fastIndex) => fastIndex + 1 < FastStarts.Length ? FastStarts[fastIndex + 1] - 1 : Handlers.Length - 1;

    /// <summary>Gets the handlers registered for exactly this type: the candidates for a command or request.</summary>
    public HandlerInvoker[] ExactHandlers { get; }

    /// <summary>Gets the single handler of a command or request, or <see langword="null"/> when there is none or several.</summary>
    public HandlerInvoker? CommandHandler { get; }

    /// <summary>Gets the single handler when the type is handled in process by a handler without context: the send and request fast paths.</summary>
    public HandlerInvoker? LocalCommandHandler { get; }

    /// <summary>
    /// Gets the one handler of a route that stays in process without outgoing middleware, when it is wrapped in incoming
    /// middleware: the lean path that runs it with a pooled context and no state machine while everything completes synchronously.
    /// </summary>
    public HandlerInvoker? PipelineHandler { get; }

    /// <summary>
    /// Gets <see cref="PipelineHandler"/> when it is also the route's <see cref="CommandHandler"/>: the send and request
    /// fast paths take the lean pipeline path straight from the route table with it.
    /// </summary>
    public HandlerInvoker? PipelineCommandHandler { get; }

    /// <summary>Gets whether the route stays in process and no handler needs a context: the condition of the fastest publish.</summary>
    public bool InProcessWithoutContext { get; }

    /// <summary>Gets whether any handler needs a <see cref="MessageContext"/>.</summary>
    public bool NeedsContext { get; }

    private DynamicHandlers? _dynamic;

    /// <summary>
    /// Returns the runtime subscribers of this route's type in a subscription snapshot, remembering the last snapshot asked
    /// for: while subscriptions do not change, a publish pays one reference comparison instead of a dictionary lookup.
    /// </summary>
    public SubscriptionTable.Matched Subscribers(SubscriptionTable.Snapshot snapshot)
    {
        DynamicHandlers? cached = Volatile.Read(ref _dynamic);
        if (cached is not null && ReferenceEquals(cached.Snapshot, snapshot))
        {
            return cached.Matched;
        }

        SubscriptionTable.Matched matched = snapshot.For(MessageType);
        Volatile.Write(ref _dynamic, new DynamicHandlers(snapshot, matched));
        return matched;
    }

    public Exception CommandHandlerError(string operation)
    {
        if (ExactHandlers.Length == 0)
        {
            string hint = Handlers.Length > 0
                ? $" Handlers registered for a base type ({string.Join(", ", Handlers.Select(h => h.Name))}) receive published events only."
                : string.Empty;
            return new NoHandlerException(
                $"{operation} found no handler for {MessageType.Name}. Register one with BusBuilder.Handle<{MessageType.Name}>(...) or AddHandler<T>() before the bus is built.{hint}");
        }

        return new InvalidOperationException(
            $"{operation} needs exactly one handler for {MessageType.Name}, but {ExactHandlers.Length} are registered ({string.Join(", ", ExactHandlers.Select(h => h.Name))}). " +
            "Use PublishAsync to reach every handler, or keep one handler for the command.");
    }

    private static (HandlerInvoker[] Fused, int[] Starts) Fuse(HandlerInvoker[] handlers)
    {
        List<HandlerInvoker> fused = [];
        List<int> starts = [];
        for (int i = 0; i < handlers.Length; i++)
        {
            if (fused.Count > 0 && fused[^1].FuseWith(handlers[i]) is { } combined)
            {
                fused[^1] = combined;
                continue;
            }

            fused.Add(handlers[i]);
            starts.Add(i);
        }

        return ([.. fused], [.. starts]);
    }

    private sealed record DynamicHandlers(SubscriptionTable.Snapshot Snapshot, SubscriptionTable.Matched Matched);
}
