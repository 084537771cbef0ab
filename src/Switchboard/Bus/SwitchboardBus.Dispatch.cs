using System.Diagnostics;
using System.Runtime.CompilerServices;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    [ThreadStatic]
    private static MessageContext? t_spareContext;

    /// <summary>Whether a listener wants spans or handler metrics; when not, dispatch takes the fast path.</summary>
    private bool Observed => _runtime.Tracing && SwitchboardDiagnostics.ActivitySource.HasListeners() || SwitchboardDiagnostics.ProcessDuration.Enabled;

    /// <summary>
    /// The fastest path, for the common case: only handlers registered on the builder, none needing a context, nobody
    /// listening, the publish already counted with every handler (<c>StatisticsCounters.Slot.CountPublish</c>). It invokes them in order and
    /// stays synchronous while they complete synchronously; the first that does not is handed to
    /// <see cref="ContinueWithoutContextAsync"/> with the rest.
    /// </summary>
    private ValueTask InvokeRegisteredHandlers(MessageRoute route, object message, CancellationToken cancellationToken)
    {
        HandlerInvoker[] handlers = route.FastHandlers;
        for (int i = 0; i < handlers.Length; i++)
        {
            // A handler's exception comes back as a faulted task: the continuation records it and runs the rest.
            ValueTask pending = handlers[i].InvokeAsync(message, null, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueWithoutContextAsync(route, [], message, route.FastStarts[i], route.FastLast(i), pending, _runtime.Options.HandlerErrors, counted: true, cancellationToken);
            }
        }

        return default;
    }

    /// <summary>
    /// Finishes a context-free dispatch once handler <paramref name="index"/> did not complete synchronously: awaits it,
    /// then runs the rest (the route's handlers, then <paramref name="subscribers"/>), isolating and recording errors.
    /// <paramref name="pending"/> may stand for a fused run of handlers <paramref name="index"/> to <paramref name="last"/>
    /// (see <see cref="MessageRoute.FastHandlers"/>): when it succeeds, the handlers after <paramref name="last"/> run next.
    /// Deliberately small, because its state machine is what an asynchronous handler costs in allocation.
    /// <para>
    /// <c>counted</c>: whether every handler was counted as invoked up front (a fast-path publish); then only the handlers
    /// a caller's cancellation keeps from running are given back. Otherwise each handler is counted when it has run.
    /// </para>
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // its box is reused: an asynchronous handler costs the bus no allocation of its own
    private async ValueTask ContinueWithoutContextAsync(
        MessageRoute route,
        HandlerInvoker[] subscribers,
        object message,
        int index,
        int last,
        ValueTask pending,
        HandlerErrorMode mode,
        bool counted,
        CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        List<Exception>? errors = null;
        HandlerInvoker[] handlers = route.Handlers;
        int total = handlers.Length + subscribers.Length;
        bool finished = false;
        try
        {
            while (true)
            {
                try
                {
                    await pending.ConfigureAwait(false);
                    index = last;
                }
                catch (FusedHandlerException fused)
                {
                    // Several handlers ran in one call (MessageRoute.FastHandlers) and one of them threw: record it as
                    // that handler's failure and go on with the ones after it, one by one.
                    index += fused.Position;
                    Exception ex = fused.InnerException!;
                    if (IsCallerCancellation(ex, cancellationToken))
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex);
                    }

                    RecordHandlerError(HandlerAt(handlers, subscribers, index), route.TypeName, null, ex, null);
                    (errors ??= []).Add(ex);
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    RecordHandlerError(HandlerAt(handlers, subscribers, index), route.TypeName, null, ex, null);
                    (errors ??= []).Add(ex);
                }

                if (!counted)
                {
                    Counters.Local.HandlersInvoked++;
                }

                HandlerInvoker? next = null;
                while (++index < total)
                {
                    next = HandlerAt(handlers, subscribers, index);
                    if (next.Subscription is not { IsActive: false })
                    {
                        break;
                    }
                }

                if (index >= total)
                {
                    break;
                }

                pending = next!.InvokeAsync(message, null, cancellationToken);
                last = index;
            }

            finished = true;
        }
        finally
        {
            if (counted && !finished)
            {
                // The caller's cancellation ended the publish at handler `index`: the ones after it never ran.
                Counters.Local.HandlersInvoked -= total - 1 - index;
            }

            _inFlight.Exit();
        }

        if (errors is not null && mode == HandlerErrorMode.Throw)
        {
            throw new AggregateException($"{errors.Count} handler(s) of {route.MessageType.Name} failed.", errors);
        }
    }

    /// <summary>
    /// <see cref="ContinueWithoutContextAsync"/> for a route with exactly one handler (nothing to go on with, nothing fused):
    /// the same outcome (the failure recorded, thrown only in <see cref="HandlerErrorMode.Throw"/>, a caller's cancellation
    /// passed on) with the smallest state machine, since it is what an asynchronous handler costs a publish.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitOneHandlerAsync(MessageRoute route, ValueTask pending, HandlerErrorMode mode, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        Exception? error = null;
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
        {
            RecordHandlerError(route.Handlers[0], route.TypeName, null, ex, null);
            error = ex;
        }
        finally
        {
            _inFlight.Exit();
        }

        if (error is not null && mode == HandlerErrorMode.Throw)
        {
            throw new AggregateException($"1 handler(s) of {route.MessageType.Name} failed.", error);
        }
    }

    private static HandlerInvoker HandlerAt(HandlerInvoker[] handlers, HandlerInvoker[] subscribers, int index)
        => index < handlers.Length ? handlers[index] : subscribers[index - handlers.Length];

    /// <summary>
    /// Fans a message out to its route's handlers and the runtime subscribers. The fast path (no context, no listener, all
    /// handlers completing synchronously) runs without allocating; anything else continues in <see cref="DispatchFullAsync"/>.
    /// </summary>
    internal ValueTask DispatchAsync(MessageRoute route, object message, in MessageMetadata metadata, bool hasMetadata, HandlerErrorMode mode, CancellationToken cancellationToken, StatisticsCounters.Slot? slot = null)
    {
        SubscriptionTable.Snapshot subscriptions = _subscriptions.Current;
        SubscriptionTable.Matched dynamic = subscriptions.IsEmpty ? SubscriptionTable.Matched.None : route.Subscribers(subscriptions);
        if (hasMetadata || route.NeedsContext || dynamic.NeedsContext || Observed)
        {
            return DispatchFullAsync(route, dynamic, message, metadata, mode, cancellationToken);
        }

        HandlerInvoker[] handlers = route.Handlers;
        HandlerInvoker[] extra = dynamic.Handlers;
        int total = handlers.Length + extra.Length;
        int invoked = 0;
        for (int i = 0; i < total; i++)
        {
            HandlerInvoker handler = HandlerAt(handlers, extra, i);
            if (handler.Subscription is { IsActive: false })
            {
                continue;
            }

            ValueTask pending = handler.InvokeAsync(message, null, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                (slot ?? Counters.Local).HandlersInvoked += invoked;
                return ContinueWithoutContextAsync(route, extra, message, i, i, pending, mode, counted: false, cancellationToken);
            }

            invoked++;
        }

        (slot ?? Counters.Local).HandlersInvoked += invoked;
        return default;
    }

    /// <summary>The full dispatch: context, spans, error collection, cascades.</summary>
    private async ValueTask DispatchFullAsync(
        MessageRoute route,
        SubscriptionTable.Matched dynamic,
        object message,
        MessageMetadata metadata,
        HandlerErrorMode mode,
        CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        List<Exception>? errors = null;
        MessageContext? context = null;
        Activity? activity = _runtime.Tracing ? StartActivity("publish", route.TypeName, ActivityKind.Producer, metadata) : null;
        try
        {
            HandlerInvoker[] handlers = route.Handlers;
            HandlerInvoker[] extra = dynamic.Handlers;
            int total = handlers.Length + extra.Length;
            if (route.NeedsContext || dynamic.NeedsContext || metadata.MessageId is not null || metadata.CorrelationId is not null || metadata.Headers is not null)
            {
                context = RentContext(message, metadata);
            }

            for (int index = 0; index < total; index++)
            {
                HandlerInvoker handler = HandlerAt(handlers, extra, index);
                if (handler.Subscription is { IsActive: false })
                {
                    continue;
                }

                Exception? error = await InvokeHandlerAsync(handler, route.TypeName, message, context, cancellationToken).ConfigureAwait(false);
                if (error is not null)
                {
                    (errors ??= []).Add(error);
                }
            }

            if (context is { HasCommitted: true })
            {
                try
                {
                    await DispatchCascadedAsync(context, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    (errors ??= []).Add(ex);
                }
            }
        }
        finally
        {
            if (context is not null)
            {
                await context.EndScopeAsync().ConfigureAwait(false);
                ReturnContext(context);
            }

            if (errors is not null)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
            }

            activity?.Dispose();
            _inFlight.Exit();
        }

        if (errors is not null && mode == HandlerErrorMode.Throw)
        {
            throw new AggregateException($"{errors.Count} handler(s) of {route.MessageType.Name} failed.", errors);
        }
    }

    /// <summary>Runs one handler with its span and metrics, and keeps what it cascaded on success. Returns its exception instead of throwing.</summary>
    private async ValueTask<Exception?> InvokeHandlerAsync(HandlerInvoker handler, string typeName, object message, MessageContext? context, CancellationToken cancellationToken)
    {
        Activity? activity = _runtime.Tracing ? StartHandlerActivity(handler, typeName, context) : null;
        long started = SwitchboardDiagnostics.ProcessDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        Counters.Local.HandlersInvoked++;
        try
        {
            await handler.InvokeAsync(message, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
        {
            context?.DiscardCascaded();
            RecordHandlerError(handler, typeName, context, ex, activity);
            activity?.Dispose();
            return ex;
        }
        finally
        {
            if (started != 0)
            {
                SwitchboardDiagnostics.ProcessDuration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Destination, typeName),
                    new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Handler, handler.Name));
            }
        }

        activity?.Dispose();
        context?.CommitCascaded();
        return null;
    }

    private static bool IsCallerCancellation(Exception exception, CancellationToken cancellationToken)
        => exception is OperationCanceledException && cancellationToken.IsCancellationRequested;

    private MessageContext RentContext(object message, in MessageMetadata metadata)
    {
        MessageContext context = t_spareContext ?? new MessageContext();
        t_spareContext = null;
        context.Initialize(this, message, metadata, _runtime.ScopeFactory);
        return context;
    }

    private static void ReturnContext(MessageContext context)
    {
        context.Reset();
        t_spareContext = context;
    }
}
