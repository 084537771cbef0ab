using System.Diagnostics;
using System.Runtime.CompilerServices;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    public ValueTask PublishAsync<TEvent>(TEvent @event, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (@event is null)
        {
            ThrowNull(nameof(@event));
        }

        // The common case, kept small so that its stack frame is too: no options, running, not cancelled, handlers
        // registered on the builder that need no context, nobody listening. Everything else is PublishOtherwise.
        // _publishRoutes is set only on the running root bus without runtime subscribers (see its remarks).
        TypeMap<MessageRoute>? routes = Volatile.Read(ref _publishRoutes);
        if (routes is not null && options is null && !cancellationToken.IsCancellationRequested)
        {
            MessageRoute? route = routes.Find(ObjectHeader.TypeHandle(@event));
            if (route is { InProcessWithoutContext: true } && !Observed)
            {
                // Counts the event and its handlers at once.
                if (_statistics)
                {
                    Counters.Local.CountPublish(route.Handlers.Length);
                }

                HandlerInvoker[] handlers = route.FastHandlers;
                if (handlers.Length != 1)
                {
                    return InvokeRegisteredHandlers(route, @event, cancellationToken);
                }

                // One handler (or several fused into one), the most common event shape: invoked here, without the loop's
                // frame. The invoker returns the handler's exception as a faulted task, so this frame needs no exception
                // handling of its own.
                ValueTask pending = handlers[0].InvokeAsync(@event, null, cancellationToken);
                if (pending.IsCompletedSuccessfully)
                {
                    return default;
                }

                return route.Handlers.Length == 1
                    ? AwaitOneHandlerAsync(route, pending, _runtime.Options.HandlerErrors, cancellationToken)
                    : ContinueWithoutContextAsync(route, [], @event, 0, route.Handlers.Length - 1, pending, _runtime.Options.HandlerErrors, counted: true, cancellationToken);
            }

            if (route?.PipelineHandler is { } pipeline && !Observed)
            {
                // One handler behind incoming middleware: the lean pipeline path, straight from the route table
                // (_publishRoutes exists only while there are no runtime subscribers).
                StatisticsCounters.Slot slot = Counters.Local;
                slot.CountPublish(1);
                return InvokePipeline(slot, route, pipeline, @event, _runtime.Options.HandlerErrors, cancellationToken);
            }
        }

        return PublishOtherwise(@event, options, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask PublishOtherwise(object @event, PublishOptions? options, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (options is not null)
        {
            return PublishWithOptionsAsync(@event, options, cancellationToken);
        }

        StatisticsCounters.Slot slot = Counters.Local;
        slot.EventsPublished++;
        MessageRoute route = _runtime.Router.GetRoute(@event);
        if (LeanPipeline(route, publish: true))
        {
            slot.HandlersInvoked++;
            return InvokePipeline(slot, route, route.PipelineHandler!, @event, _runtime.Options.HandlerErrors, cancellationToken);
        }

        if (route.Outgoing is null && route.Destination is null)
        {
            // In process (runtime subscribers, streams): the slot at hand counts the handlers too, one thread-local read.
            return DispatchAsync(route, @event, default, hasMetadata: false, _runtime.Options.HandlerErrors, cancellationToken, slot);
        }

        return PublishRoutedAsync(route, @event, default, hasMetadata: false, _runtime.Options.HandlerErrors, cancellationToken);
    }

    public async ValueTask PublishBatchAsync(IEnumerable<object> events, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        object[] batch = [.. events];
        for (int i = 0; i < batch.Length; i++)
        {
            if (batch[i] is null)
            {
                throw new ArgumentException($"The batch holds a null event at index {i}; nothing was published.", nameof(events));
            }
        }

        ThrowIfStopped();
        cancellationToken.ThrowIfCancellationRequested();
        if (options is { Background: true })
        {
            // One work item for the whole batch, so that one worker runs it in order.
            await EnqueueBackgroundAsync(new BackgroundQueue.Work(this, batch, options, isBatch: true), cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (object @event in batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await PublishForegroundAsync(@event, options, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask PublishAsync(string topic, object payload, CancellationToken cancellationToken = default)
    {
        TopicPattern.ValidateTopic(topic);
        ArgumentNullException.ThrowIfNull(payload);
        ThrowIfStopped();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Counters.Local.EventsPublished++;
        return DispatchTopicAsync(topic, payload, MessageMetadata.ForTopic(topic), cancellationToken);
    }

    private ValueTask PublishWithOptionsAsync(object @event, PublishOptions options, CancellationToken cancellationToken)
    {
        if (options.Background)
        {
            // The common case goes as the bare event (see BackgroundQueue); the rest of the options travel with it.
            return _parent is null && options is { HandlerErrors: null, CorrelationId: null, Headers: null }
                ? EnqueueBackgroundAsync(@event, cancellationToken)
                : EnqueueBackgroundAsync(new BackgroundQueue.Work(this, @event, options, isBatch: false), cancellationToken);
        }

        return PublishForegroundAsync(@event, options, cancellationToken);
    }

    /// <summary>
    /// Queues a background publish: a bare event of the root bus, or a <see cref="BackgroundQueue.Work"/>. It is counted as
    /// created before it is queued (so that a snapshot never shows more completed than created), and uncounted if queuing
    /// fails, for example when a wait for room is cancelled.
    /// </summary>
    private ValueTask EnqueueBackgroundAsync(object item, CancellationToken cancellationToken)
    {
        BackgroundQueue queue = _runtime.Background;
        bool bare = item is not BackgroundQueue.Work;
        if (bare)
        {
            queue.RootQueued.Increment();
        }
        else
        {
            Counters.Local.BackgroundCreated++;
        }

        ValueTask queued = queue.EnqueueAsync(item, cancellationToken);
        return queued.IsCompletedSuccessfully ? default : UncountIfNotQueuedAsync(queued, bare);
    }

    private async ValueTask UncountIfNotQueuedAsync(ValueTask queued, bool bare)
    {
        try
        {
            await queued.ConfigureAwait(false);
        }
        catch
        {
            if (bare)
            {
                _runtime.Background.RootQueued.Decrement();
            }
            else
            {
                Counters.Local.BackgroundCreated--;
            }

            throw;
        }
    }

    private ValueTask PublishForegroundAsync(object @event, PublishOptions? options, CancellationToken cancellationToken)
    {
        MessageRoute route = _runtime.Router.GetRoute(@event);
        HandlerErrorMode mode = options?.HandlerErrors ?? _runtime.Options.HandlerErrors;
        if (options is { CorrelationId: not null } or { Headers: not null })
        {
            Counters.Local.EventsPublished++;
            MessageMetadata metadata = new(MessageIds.New(), options.CorrelationId, null, options.Headers, 1, null);
            return PublishRoutedAsync(route, @event, metadata, hasMetadata: true, mode, cancellationToken);
        }

        // What background workers run for every item: the same fast path as PublishAsync when it applies.
        if (mode == _runtime.Options.HandlerErrors && OnlyRegisteredHandlers(route))
        {
            if (_statistics)
            {
                Counters.Local.CountPublish(route.Handlers.Length);
            }

            return InvokeRegisteredHandlers(route, @event, cancellationToken);
        }

        Counters.Local.EventsPublished++;
        return PublishRoutedAsync(route, @event, default, hasMetadata: false, mode, cancellationToken);
    }

    /// <summary>
    /// Whether a publish of this route may take <see cref="InvokeRegisteredHandlers"/>: it stays in process, no handler
    /// needs a context, there are no runtime subscribers, nobody listens for spans or handler metrics, and this is the
    /// root bus (the route's counters are the root's; a scope counts its own).
    /// </summary>
    private bool OnlyRegisteredHandlers(MessageRoute route)
        => route.InProcessWithoutContext && _parent is null && _subscriptions.IsEmpty && !Observed;

    /// <summary>Publishes to the handlers in this process, or to the transport when the type is routed there.</summary>
    private ValueTask PublishRoutedAsync(MessageRoute route, object @event, in MessageMetadata metadata, bool hasMetadata, HandlerErrorMode mode, CancellationToken cancellationToken)
        => route.Outgoing is null
            ? PublishRoutedDirectAsync(route, @event, metadata, hasMetadata, mode, cancellationToken)
            : PublishThroughPipelineAsync(route, @event, metadata, hasMetadata, mode, cancellationToken);

    /// <summary>A publish after the outgoing pipeline (or without one).</summary>
    private ValueTask PublishRoutedDirectAsync(MessageRoute route, object @event, in MessageMetadata metadata, bool hasMetadata, HandlerErrorMode mode, CancellationToken cancellationToken)
        => route.Destination is null
            ? DispatchAsync(route, @event, metadata, hasMetadata, mode, cancellationToken)
            : SendToTransportAsync(@event, route.Destination, metadata, replyTo: null, responseTtl: null, cancellationToken);

    /// <summary>Runs a bare background event of this (root) bus on a worker of the pool.</summary>
    internal ValueTask RunBackgroundAsync(object @event) => PublishForegroundAsync(@event, null, CancellationToken.None);

    /// <summary>Runs one background work item on a worker of the pool.</summary>
    internal ValueTask RunBackgroundAsync(BackgroundQueue.Work work)
        => work.IsBatch
            ? RunBackgroundBatchAsync((object[])work.Message, work.Options, CancellationToken.None)
            : PublishForegroundAsync(work.Message, work.Options, CancellationToken.None); // Background is what brought it here; the rest of the options apply

    private async ValueTask RunBackgroundBatchAsync(object[] batch, PublishOptions? options, CancellationToken cancellationToken)
    {
        foreach (object @event in batch)
        {
            try
            {
                await PublishForegroundAsync(@event, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Nobody awaits a background batch: one event's failure (HandlerErrorMode.Throw) is logged, and the
                // events after it are still published instead of being dropped.
                Observability.Log.BackgroundPublishFailed(_runtime.Logger, @event.GetType().Name, ex);
            }
        }
    }

    private async ValueTask DispatchTopicAsync(string topic, object payload, MessageMetadata metadata, CancellationToken cancellationToken)
    {
        TopicTable.Entry[] entries = _topics.Current;
        if (entries.Length == 0)
        {
            return;
        }

        TopicMessage? message = null;
        List<Exception>? errors = null;
        Activity? activity = null;
        try
        {
            foreach (TopicTable.Entry entry in entries)
            {
                if (!entry.Subscription.IsActive || !entry.Pattern.Matches(topic))
                {
                    continue;
                }

                if (message is null)
                {
                    message = new TopicMessage(topic, payload, _runtime.JsonOptions);
                    activity = _runtime.Tracing ? StartActivity("publish", topic, ActivityKind.Producer, metadata) : null;
                    _inFlight.Enter();
                }

                Counters.Local.HandlersInvoked++;
                try
                {
                    await entry.Handler(message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    CountHandlerError(topic, ex);
                    activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                    Observability.Log.HandlerFailed(_runtime.Logger, entry.Pattern.Pattern, topic, metadata.MessageId ?? "-", ex);
                    (errors ??= []).Add(ex);
                }
            }
        }
        finally
        {
            activity?.Dispose();
            if (message is not null)
            {
                _inFlight.Exit();
            }
        }

        if (errors is not null && _runtime.Options.HandlerErrors == HandlerErrorMode.Throw)
        {
            throw new AggregateException($"{errors.Count} subscriber(s) of topic '{topic}' failed.", errors);
        }
    }
}
