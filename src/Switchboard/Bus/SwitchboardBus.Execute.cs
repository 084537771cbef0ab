using System.Buffers;
using System.Diagnostics;
using Switchboard.Pipeline;
using Switchboard.Responses;
using Switchboard.Routing;
using Switchboard.Transport;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    private readonly List<TransportConsumer> _consumers = [];
    private Task? _started;

    public async ValueTask<object?> ExecuteAsync(object message, ExecuteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfStopped();
        cancellationToken.ThrowIfCancellationRequested();

        Type type = message.GetType();
        MessageRoute route = _runtime.Router.GetRoute(type);
        if (route.Outgoing is not null)
        {
            Type? resultType = options is { Wait: false } ? null : route.CommandHandler?.ResultType ?? BusBuilder.RequestResultType(type);
            return await ExecuteThroughPipelineAsync(route, message, resultType, metadata => ExecuteRoutedAsync(route, message, options, metadata, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        return await ExecuteRoutedAsync(route, message, options, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>ExecuteAsync</c> after the outgoing pipeline (or without one), with the metadata the middleware left.</summary>
    private async ValueTask<object?> ExecuteRoutedAsync(MessageRoute route, object message, ExecuteOptions? options, MessageMetadata given, CancellationToken cancellationToken)
    {
        Type type = route.MessageType;
        if (!_runtime.Types.IsRegistered(type))
        {
            throw new NoHandlerException(
                $"ExecuteAsync found no handler for {type.Name}, and {type.Name} is not a registered message type, so no worker could read it. " +
                $"Register a handler with BusBuilder.Handle<{type.Name}>(...) on this bus, or route it to a transport that another service consumes with RouteToTransport<{type.Name}>().");
        }

        await Root.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        Counters.Local.RequestsSent++;

        TimeSpan timeout = options?.Timeout ?? _runtime.Options.DefaultTimeout;
        TimeSpan ttl = options?.ResponseTtl ?? _runtime.Options.ResponseTtl;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, "options.Timeout");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, "options.ResponseTtl");

        string destination = route.Destination ?? _runtime.EndpointName;
        string correlationId = options?.CorrelationId ?? given.CorrelationId ?? MessageIds.New();
        if (options is { Wait: false })
        {
            MessageMetadata metadata = new(given.MessageId ?? MessageIds.New(), correlationId, null, given.Headers, 1, null);
            await SendToTransportAsync(message, destination, metadata, replyTo: null, responseTtl: null, cancellationToken).ConfigureAwait(false);
            return null;
        }

        Type resultType = route.CommandHandler?.ResultType ?? BusBuilder.RequestResultType(type) ?? typeof(System.Text.Json.JsonElement);
        return await RequestOverTransportAsync(message, destination, correlationId, given.Headers, timeout, ttl, resultType, "ExecuteAsync", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Serializes a message and sends it to a transport destination; completes when the transport confirmed it.</summary>
    private async ValueTask SendToTransportAsync(object message, string destination, MessageMetadata metadata, string? replyTo, TimeSpan? responseTtl, CancellationToken cancellationToken)
    {
        using Activity? activity = _runtime.Tracing ? StartActivity("send", destination, ActivityKind.Producer, metadata) : null;
        TransportMessage outgoing = _runtime.Codec.Encode(message, destination, metadata, replyTo, responseTtl, null);
        if (activity is not null)
        {
            // The broker is the messaging system of a send (OpenTelemetry: messaging.system = redis, rabbitmq, ...).
            activity.SetTag(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name);
            activity.SetTag(SwitchboardDiagnostics.Tags.BodySize, outgoing.Body.Length);
            activity.SetTag(SwitchboardDiagnostics.Tags.MessageId, outgoing.MessageId);
        }

        await _runtime.Transport.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
        _runtime.TransportCounters.Sent();
        if (SwitchboardDiagnostics.SentMessages.Enabled)
        {
            SwitchboardDiagnostics.SentMessages.Add(
                1,
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name),
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Destination, destination));
        }
    }

    /// <summary>
    /// Sends a message with a reply-to correlation id and waits for the worker's result in the response store (seed 000's
    /// enqueue → worker → response store → waiting caller).
    /// </summary>
    private async ValueTask<object?> RequestOverTransportAsync(
        object message,
        string destination,
        string correlationId,
        IReadOnlyDictionary<string, string>? headers,
        TimeSpan timeout,
        TimeSpan ttl,
        Type resultType,
        string operation,
        CancellationToken cancellationToken,
        string? messageId = null)
    {
        MessageMetadata metadata = new(messageId ?? MessageIds.New(), correlationId, null, headers, 1, null);
        await SendToTransportAsync(message, destination, metadata, replyTo: correlationId, ttl, cancellationToken).ConfigureAwait(false);

        StoredResponse response;
        try
        {
            response = await _runtime.ResponseStore.WaitAsync(correlationId, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"{operation} of {message.GetType().Name} got no result within {timeout.TotalSeconds:0.###} s (correlation id {correlationId}). " +
                $"Is a worker consuming '{destination}' on {_runtime.Transport.Name}, with the same response store?",
                ex);
        }

        if (!response.Succeeded)
        {
            throw new HandlerFailedException($"The handler of {message.GetType().Name} failed: {response.ErrorMessage}")
            {
                RemoteExceptionType = response.ErrorType,
            };
        }

        return response.Body.IsEmpty ? null : _runtime.Serializer.Deserialize(response.Body.Span, resultType);
    }

    private async ValueTask<TResult> RequestOverTransportAsync<TResult>(MessageRoute route, object request, RequestOptions? options, CancellationToken cancellationToken)
    {
        object? result = await RequestOverTransportAsync(
            request,
            route.Destination!,
            options?.CorrelationId ?? MessageIds.New(),
            options?.Headers,
            options?.Timeout ?? _runtime.Options.DefaultTimeout,
            _runtime.Options.ResponseTtl,
            typeof(TResult),
            "RequestAsync",
            cancellationToken).ConfigureAwait(false);
        return (TResult)result!;
    }

    internal SwitchboardBus Root => _parent?.Root ?? this;

    /// <summary>Starts the workers that consume this bus's queues; for a standalone bus, called when it is created.</summary>
    internal void StartInBackground() => _ = EnsureStartedAsync(CancellationToken.None).AsTask();

    internal ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
    {
        Task? started = Volatile.Read(ref _started);
        if (started is { IsCompletedSuccessfully: true })
        {
            return default;
        }

        lock (_gate)
        {
            if (_started is null || _started.IsFaulted || _started.IsCanceled)
            {
                _started = StartConsumersAsync();
            }

            started = _started;
        }

        return new ValueTask(started.WaitAsync(cancellationToken));
    }

    /// <summary>Returns this bus's consumer of a destination, when it started one.</summary>
    internal TransportConsumer? FindConsumer(string destination)
    {
        lock (_gate)
        {
            return _consumers.Find(c => c.Options.Destination == destination);
        }
    }

    /// <summary>
    /// Starts one consumer for the bus's own queue (<c>ExecuteAsync</c> of types not routed elsewhere) when the bus handles
    /// such a type, and one for each routed destination this bus has handlers for, all in the consumer group named after the
    /// bus. A bus that only publishes and sends starts none: it has nothing to receive (results come back through the
    /// response store), and so nothing of it fails while the broker is away.
    /// </summary>
    private async Task StartConsumersAsync()
    {
        if (_outbox is { } outbox && Interlocked.Exchange(ref _outboxStarted, 1) == 0)
        {
            outbox.Start();
        }

        bool ownQueue = _runtime.Router.Routes.Any(static r => r.Destination is null && r.Handlers.Length > 0);
        string[] destinations = [.. ownQueue ? [_runtime.EndpointName] : Array.Empty<string>(), .. _runtime.Router.ConsumedDestinations.Where(d => d != _runtime.EndpointName)];
        foreach (string destination in destinations)
        {
            lock (_gate)
            {
                if (_consumers.Exists(c => c.Options.Destination == destination))
                {
                    continue; // started by an earlier attempt that failed on a later destination
                }
            }

            TransportConsumer consumer = new(
                this,
                new ReceiverOptions(destination, _runtime.Options.Name, $"{_runtime.Options.Name}-{Environment.ProcessId}-{MessageIds.New()[..8]}") { TimeProvider = _runtime.Time });
            await consumer.StartAsync(CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                _consumers.Add(consumer);
            }
        }
    }

    /// <summary>
    /// Handles one message a consumer received: the one handler when the sender waits for a result, otherwise every
    /// handler, failures surfacing as exceptions so that the consumer retries or dead-letters.
    /// </summary>
    internal ValueTask<object?> HandleReceivedAsync(EnvelopeCodec.Decoded decoded, CancellationToken cancellationToken)
        => Outbox is { Options.UseInbox: true } outbox
            ? outbox.HandleWithInboxAsync(decoded, _handleReceived ??= HandleReceivedCoreAsync, cancellationToken)
            : HandleReceivedCoreAsync(decoded, cancellationToken);

    private Func<EnvelopeCodec.Decoded, CancellationToken, ValueTask<object?>>? _handleReceived;
    private int _outboxStarted;

    private async ValueTask<object?> HandleReceivedCoreAsync(EnvelopeCodec.Decoded decoded, CancellationToken cancellationToken)
    {
        MessageRoute route = _runtime.Router.GetRoute(decoded.Message.GetType());
        if (decoded.ReplyTo is not null && route.CommandHandler is { } handler)
        {
            return await InvokeSingleAsync(route, handler, decoded.Message, decoded.Metadata, withResult: true, cancellationToken).ConfigureAwait(false);
        }

        if (!HasLocalHandlers(route))
        {
            throw new NoHandlerException($"No handler for {route.MessageType.Name} on bus '{Name}'.");
        }

        await DispatchAsync(route, decoded.Message, decoded.Metadata, hasMetadata: true, HandlerErrorMode.Throw, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Returns whether a handler or a runtime subscription of this bus takes messages of a type.</summary>
    internal bool HasLocalHandlers(Type messageType) => HasLocalHandlers(_runtime.Router.GetRoute(messageType));

    private bool HasLocalHandlers(MessageRoute route)
        => route.Handlers.Length > 0 || (!_subscriptions.IsEmpty && _subscriptions.Current.For(route.MessageType).Handlers.Length > 0);

    internal StoredResponse CreateResponse(object? result)
    {
        if (result is null)
        {
            return StoredResponse.Success(ReadOnlyMemory<byte>.Empty, _runtime.Serializer.ContentType);
        }

        ArrayBufferWriter<byte> body = new(128);
        _runtime.Serializer.Serialize(result, result.GetType(), body);
        return StoredResponse.Success(body.WrittenMemory, _runtime.Serializer.ContentType);
    }
}
