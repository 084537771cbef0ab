using System.Diagnostics;

namespace Switchboard.Transport;

/// <summary>The span of one received message's handling, with the messaging attributes every transport shares and its own.</summary>
internal sealed partial class TransportConsumer
{
    private Activity? StartReceiveActivity(ReceivedMessage received)
    {
        if (!_runtime.Tracing || !SwitchboardDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        TransportMessage message = received.Message;
        ActivityContext.TryParse(message.GetHeader(MessageHeaders.TraceParent), message.GetHeader(MessageHeaders.TraceState), out ActivityContext parent);
        Activity? activity = SwitchboardDiagnostics.ActivitySource.StartActivity($"receive {message.Destination}", ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SwitchboardDiagnostics.Tags.System, _runtime.Transport.Name);
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationName, "receive");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationType, "receive");
            activity.SetTag(SwitchboardDiagnostics.Tags.Destination, message.Destination);
            activity.SetTag(SwitchboardDiagnostics.Tags.ConsumerGroup, _options.ConsumerGroup);
            activity.SetTag(SwitchboardDiagnostics.Tags.MessageId, message.MessageId);
            activity.SetTag(SwitchboardDiagnostics.Tags.DeliveryCount, received.DeliveryCount);
            activity.SetTag(SwitchboardDiagnostics.Tags.BodySize, message.Body.Length);
            // What only the transport knows (a partition, an offset, a key): one loop here instead of a copy per transport.
            foreach (KeyValuePair<string, object?> tag in received.TransportTags)
            {
                activity.SetTag(tag.Key, tag.Value);
            }
        }

        return activity;
    }
}
