using System.Buffers;
using System.Diagnostics;
using Switchboard.Pipeline;
using Switchboard.Responses;
using Switchboard.Routing;
using Switchboard.Transport;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    private TransportConsumer? _consumer;
    private Task? _started;

    public async ValueTask<object?> ExecuteAsync(object message, ExecuteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfStopped();
        cancellationToken.ThrowIfCancellationRequested();

        Type type = message.GetType();
        MessageRoute route = _runtime.Router.GetRoute(type);
        if (!_runtime.Types.IsRegistered(type))
        {
            throw new NoHandlerException(
                $"ExecuteAsync found no handler for {type.Name}, and {type.Name} is not a registered message type, so no worker could read it. " +
                $"Register a handler with BusBuilder.Handle<{type.Name}>(...) on this bus.");
        }

        await Root.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        Counters.Local.RequestsSent++;

        bool wait = options?.Wait ?? true;
        string correlationId = options?.CorrelationId ?? MessageIds.New();
        TimeSpan timeout = options?.Timeout ?? _runtime.Options.DefaultTimeout;
        TimeSpan ttl = options?.ResponseTtl ?? _runtime.Options.ResponseTtl;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, "options.Timeout");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, "options.ResponseTtl");

        MessageMetadata metadata = new(MessageIds.New(), correlationId, null, null, 1, null);
        using (Activity? activity = _runtime.Tracing ? StartActivity("send", _runtime.EndpointName, ActivityKind.Producer, metadata) : null)
        {
            TransportMessage outgoing = _runtime.Codec.Encode(message, _runtime.EndpointName, metadata, wait ? correlationId : null, ttl, null);
            activity?.SetTag(SwitchboardDiagnostics.Tags.BodySize, outgoing.Body.Length);
            await _runtime.Transport.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
            _runtime.TransportCounters.Sent();
            if (SwitchboardDiagnostics.SentMessages.Enabled)
            {
                SwitchboardDiagnostics.SentMessages.Add(1, new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name));
            }
        }

        if (!wait)
        {
            return null;
        }

        StoredResponse response;
        try
        {
            response = await _runtime.ResponseStore.WaitAsync(correlationId, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"ExecuteAsync of {type.Name} got no result within {timeout.TotalSeconds:0.###} s (correlation id {correlationId}). " +
                $"Is a worker consuming '{_runtime.EndpointName}' on {_runtime.Transport.Name}, with the same response store?",
                ex);
        }

        if (!response.Succeeded)
        {
            throw new HandlerFailedException($"The handler of {type.Name} failed: {response.ErrorMessage}")
            {
                RemoteExceptionType = response.ErrorType,
            };
        }

        if (response.Body.IsEmpty)
        {
            return null;
        }

        Type resultType = route.CommandHandler?.ResultType ?? BusBuilder.RequestResultType(type) ?? typeof(System.Text.Json.JsonElement);
        return _runtime.Serializer.Deserialize(response.Body.Span, resultType);
    }

    private SwitchboardBus Root => _parent?.Root ?? this;

    /// <summary>Starts the worker that consumes this bus's queue; for a standalone bus, called when it is created.</summary>
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
                _consumer ??= new TransportConsumer(
                    this,
                    new ReceiverOptions(_runtime.EndpointName, _runtime.EndpointName, $"{_runtime.EndpointName}-{Environment.ProcessId}-{MessageIds.New()[..8]}"));
                _started = _consumer.StartAsync(CancellationToken.None);
            }

            started = _started;
        }

        return new ValueTask(started.WaitAsync(cancellationToken));
    }

    /// <summary>
    /// Handles one message a consumer received: the one handler when the sender waits for a result, otherwise every
    /// handler, failures surfacing as exceptions so that the consumer retries or dead-letters.
    /// </summary>
    internal async ValueTask<object?> HandleReceivedAsync(EnvelopeCodec.Decoded decoded, CancellationToken cancellationToken)
    {
        MessageRoute route = _runtime.Router.GetRoute(decoded.Message.GetType());
        if (decoded.ReplyTo is not null && route.CommandHandler is { } handler)
        {
            return await InvokeSingleAsync(route, handler, decoded.Message, decoded.Metadata, withResult: true, cancellationToken).ConfigureAwait(false);
        }

        if (route.Handlers.Length == 0 && (_subscriptions.IsEmpty || _subscriptions.Current.For(route.MessageType).Handlers.Length == 0))
        {
            throw new NoHandlerException($"No handler for {route.MessageType.Name} on bus '{Name}'.");
        }

        await DispatchAsync(route, decoded.Message, decoded.Metadata, hasMetadata: true, HandlerErrorMode.Throw, cancellationToken).ConfigureAwait(false);
        return null;
    }

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
