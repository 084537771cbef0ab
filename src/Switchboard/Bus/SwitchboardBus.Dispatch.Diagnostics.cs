using System.Diagnostics;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;

namespace Switchboard.Bus;

internal sealed partial class SwitchboardBus
{
    private void RecordHandlerError(HandlerInvoker handler, string typeName, MessageContext? context, Exception exception, Activity? activity)
    {
        CountHandlerError(typeName, exception);
        activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity?.SetTag(SwitchboardDiagnostics.Tags.ErrorType, exception.GetType().FullName);
        activity?.AddException(exception);
        Log.HandlerFailed(_runtime.Logger, handler.Name, typeName, context?.MessageId ?? "-", exception);
    }

    /// <summary>Counts a handler's exception in the statistics and the <c>switchboard.handler.errors</c> metric, on every path.</summary>
    private void CountHandlerError(string destination, Exception exception)
    {
        Counters.Local.HandlerErrors++;
        if (SwitchboardDiagnostics.HandlerErrors.Enabled)
        {
            SwitchboardDiagnostics.HandlerErrors.Add(
                1,
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.Destination, destination),
                new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.ErrorType, exception.GetType().FullName));
        }
    }

    private Activity? StartActivity(string operation, string destination, ActivityKind kind, in MessageMetadata metadata)
    {
        if (!SwitchboardDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        Activity? activity = SwitchboardDiagnostics.ActivitySource.StartActivity($"{operation} {destination}", kind);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SwitchboardDiagnostics.Tags.System, "switchboard");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationName, operation);
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationType, operation == "publish" ? "send" : operation);
            activity.SetTag(SwitchboardDiagnostics.Tags.Destination, destination);
            activity.SetTag(SwitchboardDiagnostics.Tags.Bus, Name);
            if (metadata.MessageId is not null)
            {
                activity.SetTag(SwitchboardDiagnostics.Tags.MessageId, metadata.MessageId);
            }

            if (metadata.CorrelationId is not null)
            {
                activity.SetTag(SwitchboardDiagnostics.Tags.ConversationId, metadata.CorrelationId);
            }
        }

        return activity;
    }

    private Activity? StartHandlerActivity(HandlerInvoker handler, string typeName, MessageContext? context)
    {
        if (!SwitchboardDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        Activity? activity = SwitchboardDiagnostics.ActivitySource.StartActivity($"process {typeName}", ActivityKind.Consumer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SwitchboardDiagnostics.Tags.System, "switchboard");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationName, "process");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationType, "process");
            activity.SetTag(SwitchboardDiagnostics.Tags.Destination, typeName);
            activity.SetTag(SwitchboardDiagnostics.Tags.Handler, handler.Name);
            activity.SetTag(SwitchboardDiagnostics.Tags.Bus, Name);
            if (context is not null)
            {
                activity.SetTag(SwitchboardDiagnostics.Tags.MessageId, context.MessageId);
                activity.SetTag(SwitchboardDiagnostics.Tags.ConversationId, context.CorrelationId);
            }
        }

        return activity;
    }
}
