using System.Diagnostics;

namespace Switchboard.Transport;

/// <summary>
/// Implemented by a <see cref="ReceivedMessage"/> that can describe itself to tracing in its broker's own terms (the
/// OpenTelemetry messaging conventions of that system: the broker's message id, the physical queue or partition, ...).
/// The shared consumer adds these tags to its receive span after its own, so a transport may refine a standard tag
/// (<c>messaging.system</c>, <c>messaging.destination.name</c>, <c>messaging.message.id</c>) as well as add its own.
/// </summary>
/// <remarks>Called only when the span is recorded, so building the tags costs nothing while tracing is off.</remarks>
public interface ITransportSpanTags
{
    /// <summary>Returns the tags to set on the span that receives and handles this message.</summary>
    /// <returns>The tags, in the order they are set (a later tag with the same key replaces an earlier one).</returns>
    IEnumerable<KeyValuePair<string, object?>> GetSpanTags();
}

/// <summary>Sets a received message's own tags (<see cref="ITransportSpanTags"/>) on the consumer's span.</summary>
internal static class TransportSpanTags
{
    public static void Add(Activity? activity, ReceivedMessage received)
    {
        if (activity is { IsAllDataRequested: true } && received is ITransportSpanTags tagged)
        {
            foreach (KeyValuePair<string, object?> tag in tagged.GetSpanTags())
            {
                activity.SetTag(tag.Key, tag.Value);
            }
        }
    }
}
