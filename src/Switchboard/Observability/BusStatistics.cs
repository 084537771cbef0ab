namespace Switchboard;

/// <summary>
/// A snapshot of a bus's counters (seed 001's <c>get_stats()</c>). Counts are exact: every increment made before the
/// snapshot was taken is in it.
/// </summary>
public sealed record BusStatistics
{
    /// <summary>Gets how many events were published (typed and topic events; a batch counts each event).</summary>
    public long EventsPublished { get; init; }

    /// <summary>Gets how many handler invocations ran, failed ones included.</summary>
    public long HandlersInvoked { get; init; }

    /// <summary>Gets how many handler invocations threw.</summary>
    public long HandlerErrors { get; init; }

    /// <summary>Gets how many background publishes were queued.</summary>
    public long BackgroundTasksCreated { get; init; }

    /// <summary>Gets how many background publishes finished, successfully or not.</summary>
    public long BackgroundTasksCompleted { get; init; }

    /// <summary>Gets how many commands were sent (<c>SendAsync</c>, <c>SendBatchAsync</c>).</summary>
    public long CommandsSent { get; init; }

    /// <summary>Gets how many requests were made (<c>RequestAsync</c>, <c>ExecuteAsync</c>).</summary>
    public long RequestsSent { get; init; }

    /// <summary>Gets per-transport counts, keyed by transport name.</summary>
    public IReadOnlyDictionary<string, TransportStatistics> Transports { get; init; } = new Dictionary<string, TransportStatistics>();
}

/// <summary>Counts for one transport of a bus.</summary>
public sealed record TransportStatistics
{
    /// <summary>Gets how many messages were sent and confirmed.</summary>
    public long Sent { get; init; }

    /// <summary>Gets how many deliveries were received.</summary>
    public long Received { get; init; }

    /// <summary>Gets how many deliveries were acknowledged after their handlers succeeded.</summary>
    public long Acknowledged { get; init; }

    /// <summary>Gets how many deliveries were scheduled for a retry.</summary>
    public long Retried { get; init; }

    /// <summary>Gets how many messages were moved to a dead-letter queue.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Gets how many messages were handled but could not be acknowledged (the broker did not take the acknowledgement, retried a few times); they stay unacknowledged and are delivered again.</summary>
    public long AcknowledgementFailures { get; init; }
}
