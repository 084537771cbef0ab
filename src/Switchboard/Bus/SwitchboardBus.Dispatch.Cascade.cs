using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Routing;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    /// <summary>Dispatches, in order, what the message's successful handlers published or sent through its context.</summary>
    private async ValueTask DispatchCascadedAsync(MessageContext context, CancellationToken cancellationToken)
    {
        List<CascadedMessage> cascaded = context.TakeCommitted()!;
        List<Exception>? errors = null;
        if (Outbox is { Options.CascadeThroughOutbox: true } outbox)
        {
            // Durable first: the events and commands go to the outbox in one transaction, and its dispatcher delivers them.
            List<Transport.TransportMessage> rows = new(cascaded.Count);
            foreach (CascadedMessage item in cascaded)
            {
                if (item.Kind != CascadeKind.Topic
                    && await EncodeForOutboxAsync(outbox, item.Kind == CascadeKind.Send ? OutgoingKind.Send : OutgoingKind.Publish, item.Message, context.ChildMetadata(), null, cancellationToken).ConfigureAwait(false) is { } row)
                {
                    rows.Add(row);
                }
            }

            if (rows.Count > 0)
            {
                await outbox.AddInOwnTransactionAsync(rows, cancellationToken).ConfigureAwait(false);
            }

            cascaded.RemoveAll(static item => item.Kind != CascadeKind.Topic);
        }

        foreach (CascadedMessage item in cascaded)
        {
            try
            {
                await DispatchCascadedAsync(item, context.ChildMetadata(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
            {
                // One failed cascade does not hold back the ones after it; the failures are reported together.
                (errors ??= []).Add(ex);
            }
        }

        if (errors is not null)
        {
            throw errors.Count == 1 ? errors[0] : new AggregateException("Several cascaded messages failed.", errors);
        }
    }

    private async ValueTask DispatchCascadedAsync(CascadedMessage item, MessageMetadata child, CancellationToken cancellationToken)
    {
        switch (item.Kind)
        {
            case CascadeKind.Publish:
                Counters.Local.EventsPublished++;
                await PublishRoutedAsync(_runtime.Router.GetRoute(item.Message.GetType()), item.Message, child, hasMetadata: true, _runtime.Options.HandlerErrors, cancellationToken).ConfigureAwait(false);
                break;
            case CascadeKind.Topic:
                Counters.Local.EventsPublished++;
                await DispatchTopicAsync(item.Topic!, item.Message, child, cancellationToken).ConfigureAwait(false);
                break;
            case CascadeKind.Send:
                Counters.Local.CommandsSent++;
                try
                {
                    await SendCoreAsync(item.Message, child, hasMetadata: true, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    // SendAsync leaves logging to its caller; for a cascaded command the bus is the caller.
                    MessageRoute route = _runtime.Router.GetRoute(item.Message.GetType());
                    Log.HandlerFailed(_runtime.Logger, route.CommandHandler?.Name ?? "-", route.TypeName, child.MessageId ?? "-", ex);
                    throw;
                }

                break;
        }
    }
}
