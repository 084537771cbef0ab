using System.Diagnostics;
using System.Runtime.CompilerServices;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    public ValueTask SendAsync<TCommand>(TCommand command, CancellationToken cancellationToken = default)
    {
        if (command is null)
        {
            ThrowNull(nameof(command));
        }

        // The common case, as for publish: a local handler without context, nobody listening.
        // _sendRoutes is set only on the running root bus.
        TypeMap<MessageRoute>? routes = Volatile.Read(ref _sendRoutes);
        if (routes is not null && !cancellationToken.IsCancellationRequested)
        {
            MessageRoute? route = routes.Find(ObjectHeader.TypeHandle(command));
            if (route?.LocalCommandHandler is { } handler && !Observed)
            {
                // Counts the command and its handler's invocation at once.
                if (_statistics)
                {
                    Counters.Local.CountSend();
                }

                return InvokeWithoutContext(route, handler, command, cancellationToken);
            }

            if (route?.PipelineCommandHandler is { } pipeline && !Observed)
            {
                // The one handler behind incoming middleware: the lean pipeline path, without a second route lookup.
                StatisticsCounters.Slot slot = Counters.Local;
                slot.CountSend();
                return InvokePipeline(slot, route, pipeline, command, publishMode: null, cancellationToken);
            }
        }

        return SendOtherwise(command, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask SendOtherwise(object command, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Counters.Local.CommandsSent++;
        return SendCoreAsync(command, default, hasMetadata: false, cancellationToken);
    }

    public ValueTask<TResult> RequestAsync<TResult>(IRequest<TResult> request, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (request is null)
        {
            ThrowNull(nameof(request));
        }

        // The common case: no options, running, a local handler with exactly this result type and no context, nobody
        // listening. Comparing type handles (HandlerInvoker.ResultTypeHandle) is cheaper than a type test against a shared generic type.
        TypeMap<MessageRoute>? routes = Volatile.Read(ref _sendRoutes);
        if (routes is not null && options is null && !cancellationToken.IsCancellationRequested)
        {
            MessageRoute? route = routes.Find(ObjectHeader.TypeHandle(request));
            if (route?.LocalCommandHandler is { } handler && handler.ResultTypeHandle == RuntimeTypeHandle.ToIntPtr(typeof(TResult).TypeHandle) && !Observed)
            {
                // Counts the request and its handler's invocation at once.
                if (_statistics)
                {
                    Counters.Local.CountRequest();
                }

                return InvokeWithoutContext(route, Unsafe.As<ResultHandlerInvoker<TResult>>(handler), request, cancellationToken);
            }

            if (route?.PipelineCommandHandler is { } pipeline && pipeline.ResultTypeHandle == RuntimeTypeHandle.ToIntPtr(typeof(TResult).TypeHandle) && !Observed)
            {
                StatisticsCounters.Slot slot = Counters.Local;
                slot.CountRequest();
                return InvokePipeline(slot, route, Unsafe.As<ResultHandlerInvoker<TResult>>(pipeline), request, cancellationToken);
            }
        }

        return RequestOtherwise(request, options, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<TResult> RequestOtherwise<TResult>(IRequest<TResult> request, RequestOptions? options, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<TResult>(cancellationToken);
        }

        Counters.Local.RequestsSent++;
        MessageRoute route = _runtime.Router.GetRoute(request);
        if (route.Outgoing is not null)
        {
            return RequestThroughPipelineAsync(route, request, options, cancellationToken);
        }

        if (route.Destination is not null)
        {
            return RequestOverTransportAsync<TResult>(route, request, options, cancellationToken);
        }

        ResultHandlerInvoker<TResult> handler = RequestHandler<TResult>(route);
        if (options is null && !handler.NeedsContext && !Observed)
        {
            Counters.Local.HandlersInvoked++;
            return InvokeWithoutContext(route, handler, request, cancellationToken);
        }

        if (options is null && handler == route.PipelineHandler && LeanPipeline(route, publish: false))
        {
            StatisticsCounters.Slot slot = Counters.Local;
            slot.HandlersInvoked++;
            return InvokePipeline(slot, route, handler, request, cancellationToken);
        }

        MessageMetadata metadata = options is null
            ? default
            : new MessageMetadata(MessageIds.New(), options.CorrelationId, null, options.Headers, 1, null);
        return RequestFullAsync(route, handler, request, metadata, options?.Timeout, cancellationToken);
    }

    private static ResultHandlerInvoker<TResult> RequestHandler<TResult>(MessageRoute route)
        => route.CommandHandler as ResultHandlerInvoker<TResult>
            ?? throw (route.CommandHandler is null
                ? route.CommandHandlerError("RequestAsync")
                : new InvalidOperationException($"The handler of {route.MessageType.Name} ({route.CommandHandler.Name}) returns {route.CommandHandler.ResultType?.Name ?? "nothing"}, not {typeof(TResult).Name}."));

    /// <summary>A request after the outgoing pipeline: to the transport, or to its handler here with the metadata the middleware left.</summary>
    private async ValueTask<TResult> RequestRoutedAsync<TResult>(MessageRoute route, IRequest<TResult> request, MessageMetadata metadata, RequestOptions? options, CancellationToken cancellationToken)
    {
        if (route.Destination is not null)
        {
            object? remote = await RequestOverTransportAsync(
                request,
                route.Destination,
                metadata.CorrelationId ?? MessageIds.New(),
                metadata.Headers,
                options?.Timeout ?? _runtime.Options.DefaultTimeout,
                _runtime.Options.ResponseTtl,
                typeof(TResult),
                "RequestAsync",
                cancellationToken,
                metadata.MessageId).ConfigureAwait(false);
            return (TResult)remote!;
        }

        return await RequestFullAsync(route, RequestHandler<TResult>(route), request, metadata, options?.Timeout, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<object?>> SendBatchAsync(IEnumerable<object> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ThrowIfStopped();
        object[] batch = [.. messages];
        for (int i = 0; i < batch.Length; i++)
        {
            if (batch[i] is null)
            {
                throw new ArgumentException($"The batch holds a null message at index {i}; nothing was sent.", nameof(messages));
            }

            MessageRoute route = _runtime.Router.GetRoute(batch[i].GetType());
            if (route.CommandHandler is null && route.Destination is null && route.Outgoing is null)
            {
                throw route.CommandHandlerError("SendBatchAsync");
            }
        }

        ThrowIfStopped();
        object?[] results = new object?[batch.Length];
        for (int i = 0; i < batch.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Counters.Local.CommandsSent++;
            MessageRoute route = _runtime.Router.GetRoute(batch[i].GetType());
            object message = batch[i];
            results[i] = route.Outgoing is null
                ? await SendBatchItemAsync(route, message, default, cancellationToken).ConfigureAwait(false)
                : await SendBatchItemThroughPipelineAsync(route, message, metadata => SendBatchItemAsync(route, message, metadata, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    private ValueTask<object?> SendBatchItemAsync(MessageRoute route, object message, in MessageMetadata metadata, CancellationToken cancellationToken)
        => route.Destination is null
            ? InvokeSingleAsync(route, route.CommandHandler ?? throw route.CommandHandlerError("SendBatchAsync"), message, metadata, withResult: true, cancellationToken)
            : RequestOverTransportAsync(
                message,
                route.Destination,
                metadata.CorrelationId ?? MessageIds.New(),
                metadata.Headers,
                _runtime.Options.DefaultTimeout,
                _runtime.Options.ResponseTtl,
                route.CommandHandler?.ResultType ?? BusBuilder.RequestResultType(route.MessageType) ?? typeof(System.Text.Json.JsonElement),
                "SendBatchAsync",
                cancellationToken,
                metadata.MessageId);

    internal ValueTask SendCoreAsync(object command, in MessageMetadata metadata, bool hasMetadata, CancellationToken cancellationToken)
    {
        MessageRoute route = _runtime.Router.GetRoute(command);
        return route.Outgoing is null
            ? SendRoutedDirectAsync(route, command, metadata, hasMetadata, cancellationToken)
            : SendThroughPipelineAsync(route, command, metadata, hasMetadata, cancellationToken);
    }

    /// <summary>A command after the outgoing pipeline (or without one): to the transport, or to its handler here.</summary>
    private ValueTask SendRoutedDirectAsync(MessageRoute route, object command, in MessageMetadata metadata, bool hasMetadata, CancellationToken cancellationToken)
    {
        if (route.Destination is not null)
        {
            return SendToTransportAsync(command, route.Destination, metadata, replyTo: null, responseTtl: null, cancellationToken);
        }

        HandlerInvoker handler = route.CommandHandler ?? throw route.CommandHandlerError("SendAsync");
        if (!hasMetadata && !handler.NeedsContext && !Observed)
        {
            Counters.Local.HandlersInvoked++;
            return InvokeWithoutContext(route, handler, command, cancellationToken);
        }

        if (!hasMetadata && handler == route.PipelineHandler && LeanPipeline(route, publish: false))
        {
            StatisticsCounters.Slot slot = Counters.Local;
            slot.HandlersInvoked++;
            return InvokePipeline(slot, route, handler, command, publishMode: null, cancellationToken);
        }

        return DiscardResult(InvokeSingleAsync(route, handler, command, metadata, withResult: false, cancellationToken));

        static async ValueTask DiscardResult(ValueTask<object?> pending) => await pending.ConfigureAwait(false);
    }

    /// <summary>
    /// Invokes a command's handler without a context; its exception is counted and reaches the caller through the returned
    /// task (the invoker never throws, so this hot frame needs no exception handling).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ValueTask InvokeWithoutContext(MessageRoute route, HandlerInvoker handler, object command, CancellationToken cancellationToken)
    {
        ValueTask pending = handler.InvokeAsync(command, null, cancellationToken);
        return pending.IsCompletedSuccessfully ? default : AwaitCountingErrorsAsync(pending, route.TypeName, cancellationToken);
    }

    /// <summary>Invokes a request's handler without a context; its exception is counted and reaches the caller through the returned task.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ValueTask<TResult> InvokeWithoutContext<TResult>(MessageRoute route, ResultHandlerInvoker<TResult> handler, object request, CancellationToken cancellationToken)
    {
        ValueTask<TResult> pending = handler.InvokeTypedAsync(request, null, cancellationToken);

        // A completed result is passed on as its value: copying the invoker's struct whole right after the invoker wrote it
        // field by field stalls on store forwarding.
        return pending.IsCompletedSuccessfully ? new ValueTask<TResult>(pending.Result) : AwaitCountingErrorsAsync(pending, route.TypeName, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // reused box: no allocation of the bus's own per asynchronous send
    private async ValueTask AwaitCountingErrorsAsync(ValueTask pending, string typeName, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
        {
            CountHandlerError(typeName, ex);
            throw;
        }
        finally
        {
            _inFlight.Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // reused box: no allocation of the bus's own per asynchronous request
    private async ValueTask<TResult> AwaitCountingErrorsAsync<TResult>(ValueTask<TResult> pending, string typeName, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
        {
            CountHandlerError(typeName, ex);
            throw;
        }
        finally
        {
            _inFlight.Exit();
        }
    }

    private async ValueTask<TResult> RequestFullAsync<TResult>(
        MessageRoute route,
        ResultHandlerInvoker<TResult> handler,
        object request,
        MessageMetadata metadata,
        TimeSpan? timeout,
        CancellationToken cancellationToken)
    {
        if (timeout is not { } limit)
        {
            object? result = await InvokeSingleAsync(route, handler, request, metadata, withResult: true, cancellationToken).ConfigureAwait(false);
            return (TResult)result!;
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, "options.Timeout");
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linked.CancelAfter(limit);
        Task<object?> running = InvokeSingleAsync(route, handler, request, metadata, withResult: true, linked.Token).AsTask();
        try
        {
            return (TResult)(await running.WaitAsync(limit, _runtime.Time, cancellationToken).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (ex is TimeoutException || ex is OperationCanceledException && linked.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The wait's timer can fire before CancelAfter's, and disposing `linked` would then stop CancelAfter: cancel
            // the handler here, so that a timed-out handler is always told to stop.
            await linked.CancelAsync().ConfigureAwait(false);
            throw new TimeoutException($"RequestAsync of {route.MessageType.Name} got no result within {limit.TotalSeconds:0.###} s; the handler {handler.Name} was cancelled.", ex);
        }
    }

    /// <summary>
    /// Runs the one handler of a command or request with a context, a span, error counting and cascading. The handler's
    /// exception propagates to the caller; it is counted and traced, not logged (the caller decides).
    /// </summary>
    private async ValueTask<object?> InvokeSingleAsync(MessageRoute route, HandlerInvoker handler, object message, MessageMetadata metadata, bool withResult, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        MessageContext context = RentContext(message, metadata);
        Activity? activity = _runtime.Tracing ? StartHandlerActivity(handler, route.TypeName, context) : null;
        long started = SwitchboardDiagnostics.ProcessDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        Counters.Local.HandlersInvoked++;
        try
        {
            object? result;
            try
            {
                if (withResult)
                {
                    result = await handler.InvokeForResultAsync(message, context, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await handler.InvokeAsync(message, context, cancellationToken).ConfigureAwait(false);
                    result = null;
                }
            }
            catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
            {
                context.DiscardCascaded();
                CountHandlerError(route.TypeName, ex);
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                activity?.SetTag(SwitchboardDiagnostics.Tags.ErrorType, ex.GetType().FullName);
                throw;
            }

            context.CommitCascaded();
            if (context.HasCommitted)
            {
                await DispatchCascadedAsync(context, cancellationToken).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            if (started != 0)
            {
                SwitchboardDiagnostics.ProcessDuration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Destination, route.TypeName),
                    new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Handler, handler.Name));
            }

            activity?.Dispose();
            await context.EndScopeAsync().ConfigureAwait(false);
            ReturnContext(context);
            _inFlight.Exit();
        }
    }
}
