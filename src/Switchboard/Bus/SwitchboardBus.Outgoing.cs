using Switchboard.Pipeline;
using Switchboard.Routing;
using Switchboard.Transport;

namespace Switchboard.Bus;

/// <summary>
/// The outgoing pipeline: a message whose route has outgoing middleware (<see cref="MessageRoute.Outgoing"/>) passes
/// through it before it is routed. Such a route never takes the fast paths, so a bus without outgoing middleware pays
/// nothing here. Publishes and sends continue without a closure; requests, executes, batches and outbox writes carry
/// their continuation in <see cref="OutgoingContext.State"/>.
/// </summary>
internal sealed partial class SwitchboardBus
{
    private delegate ValueTask OutgoingContinuation(OutgoingContext context, MessageMetadata metadata);

    /// <summary>The end of every outgoing chain: route the message as the middleware left it.</summary>
    internal ValueTask ContinueOutgoingAsync(OutgoingContext context)
    {
        MessageMetadata metadata = context.FinalMetadata(out bool changed);
        return context.State switch
        {
            OutgoingContinuation continuation => continuation(context, metadata),
            _ when context.Kind == OutgoingKind.Publish
                => PublishRoutedDirectAsync(context.Route, context.Message, metadata, context.HasMetadata || changed, context.Mode, context.CancellationToken),
            _ => SendRoutedDirectAsync(context.Route, context.Message, metadata, context.HasMetadata || changed, context.CancellationToken),
        };
    }

    private ValueTask PublishThroughPipelineAsync(MessageRoute route, object @event, in MessageMetadata metadata, bool hasMetadata, HandlerErrorMode mode, CancellationToken cancellationToken)
        => route.Outgoing!(new OutgoingContext(this, OutgoingKind.Publish, route, @event, metadata, route.Destination, throughOutbox: false, resultType: null, cancellationToken)
        {
            HasMetadata = hasMetadata,
            Mode = mode,
        });

    private ValueTask SendThroughPipelineAsync(MessageRoute route, object command, in MessageMetadata metadata, bool hasMetadata, CancellationToken cancellationToken)
        => route.Outgoing!(new OutgoingContext(this, OutgoingKind.Send, route, command, metadata, route.Destination, throughOutbox: false, resultType: null, cancellationToken)
        {
            HasMetadata = hasMetadata,
        });

    /// <summary>A request through the outgoing pipeline: the result is the one <c>next</c> brought back, or the one a middleware set.</summary>
    private async ValueTask<TResult> RequestThroughPipelineAsync<TResult>(MessageRoute route, IRequest<TResult> request, RequestOptions? options, CancellationToken cancellationToken)
    {
        MessageMetadata metadata = options is null ? default : new MessageMetadata(MessageIds.New(), options.CorrelationId, null, options.Headers, 1, null);
        OutgoingContext context = new(this, OutgoingKind.Request, route, request, metadata, route.Destination, throughOutbox: false, typeof(TResult), cancellationToken)
        {
            HasMetadata = options is not null,
            State = (OutgoingContinuation)(async (context, final) => context.SetResult(await RequestRoutedAsync<TResult>(context.Route, request, final, options, context.CancellationToken).ConfigureAwait(false))),
        };
        await route.Outgoing!(context).ConfigureAwait(false);
        return context.HasResult
            ? (TResult)context.Result!
            : throw new InvalidOperationException(
                $"The outgoing pipeline of RequestAsync for {route.MessageType.Name} ended without a result: a middleware returned without calling next and without setting OutgoingContext.Result.");
    }

    /// <summary>One command of <c>SendBatchAsync</c> through the outgoing pipeline; its result is the batch's entry.</summary>
    private async ValueTask<object?> SendBatchItemThroughPipelineAsync(MessageRoute route, object message, Func<MessageMetadata, ValueTask<object?>> send, CancellationToken cancellationToken)
    {
        OutgoingContext context = new(this, OutgoingKind.Send, route, message, default, route.Destination, throughOutbox: false, route.CommandHandler?.ResultType, cancellationToken)
        {
            State = (OutgoingContinuation)(async (context, final) => context.SetResult(await send(final).ConfigureAwait(false))),
        };
        await route.Outgoing!(context).ConfigureAwait(false);
        return context.Result;
    }

    /// <summary><c>ExecuteAsync</c> through the outgoing pipeline.</summary>
    private async ValueTask<object?> ExecuteThroughPipelineAsync(MessageRoute route, object message, Type? resultType, Func<MessageMetadata, ValueTask<object?>> execute, CancellationToken cancellationToken)
    {
        OutgoingContext context = new(this, OutgoingKind.Execute, route, message, default, route.Destination ?? _runtime.EndpointName, throughOutbox: false, resultType, cancellationToken)
        {
            State = (OutgoingContinuation)(async (context, final) => context.SetResult(await execute(final).ConfigureAwait(false))),
        };
        await route.Outgoing!(context).ConfigureAwait(false);
        return context.Result;
    }

    /// <summary>
    /// Encodes a message for the outbox, through the outgoing pipeline when its route has one; <see langword="null"/> when a
    /// middleware kept it from being written.
    /// </summary>
    internal ValueTask<TransportMessage?> EncodeForOutboxAsync(Outbox.TransactionalOutbox outbox, OutgoingKind kind, object message, MessageMetadata metadata, string? partitionKey, CancellationToken cancellationToken)
    {
        MessageRoute route = _runtime.Router.GetRoute(message);
        if (route.Outgoing is null)
        {
            return new ValueTask<TransportMessage?>(outbox.Encode(message, metadata, partitionKey));
        }

        return EncodeThroughPipelineAsync(route, outbox, kind, message, metadata, partitionKey, cancellationToken);
    }

    private async ValueTask<TransportMessage?> EncodeThroughPipelineAsync(MessageRoute route, Outbox.TransactionalOutbox outbox, OutgoingKind kind, object message, MessageMetadata metadata, string? partitionKey, CancellationToken cancellationToken)
    {
        OutgoingContext context = new(this, kind, route, message, metadata, route.Destination, throughOutbox: true, resultType: null, cancellationToken)
        {
            HasMetadata = true,
            State = (OutgoingContinuation)((context, final) =>
            {
                context.Encoded = outbox.Encode(message, final, partitionKey);
                return default;
            }),
        };
        await route.Outgoing!(context).ConfigureAwait(false);
        return context.Encoded;
    }
}
