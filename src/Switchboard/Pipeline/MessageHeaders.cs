namespace Switchboard;

/// <summary>
/// The header names of an envelope on the wire. The standard attributes use the CloudEvents 1.0 names in their binary
/// content mode (<c>ce-</c> prefix) so that services in other languages can produce and consume Switchboard messages.
/// </summary>
public static class MessageHeaders
{
    /// <summary>The message id (CloudEvents <c>id</c>).</summary>
    public const string MessageId = "ce-id";

    /// <summary>The message type's stable name (CloudEvents <c>type</c>).</summary>
    public const string MessageType = "ce-type";

    /// <summary>The producing service (CloudEvents <c>source</c>).</summary>
    public const string Source = "ce-source";

    /// <summary>The CloudEvents spec version, always <c>1.0</c>.</summary>
    public const string SpecVersion = "ce-specversion";

    /// <summary>The moment the message was produced, RFC 3339 (CloudEvents <c>time</c>).</summary>
    public const string Time = "ce-time";

    /// <summary>The subject, for example a topic or an aggregate id (CloudEvents <c>subject</c>).</summary>
    public const string Subject = "ce-subject";

    /// <summary>The body's media type, for example <c>application/json</c> (CloudEvents <c>datacontenttype</c>).</summary>
    public const string ContentType = "content-type";

    /// <summary>The conversation id (CloudEvents extension <c>correlationid</c>).</summary>
    public const string CorrelationId = "ce-correlationid";

    /// <summary>The id of the message that caused this one (CloudEvents extension <c>causationid</c>).</summary>
    public const string CausationId = "ce-causationid";

    /// <summary>The W3C trace context parent (CloudEvents distributed tracing extension).</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The W3C trace state.</summary>
    public const string TraceState = "tracestate";

    /// <summary>Set on a request whose sender waits for the result in the response store: the correlation id to answer.</summary>
    public const string ReplyTo = "ce-replyto";

    /// <summary>How long the result of a request is kept in the response store, in whole seconds.</summary>
    public const string ResponseTtl = "ce-responsettl";

    /// <summary>The ordering or partition key.</summary>
    public const string PartitionKey = "ce-partitionkey";

    /// <summary>
    /// The kind of aggregate that raised a <see cref="DomainEvent"/> (CloudEvents extension <c>aggregatetype</c>):
    /// exchange-routed transports put it in front of the routing key (<c>{AggregateType}.{EventType}</c>).
    /// </summary>
    public const string AggregateType = "ce-aggregatetype";

    /// <summary>
    /// Set on an explicit replay of a message that may already have been processed (a counter or a timestamp): the inbox
    /// deduplicates on the message id plus this mark, so that a deliberate replay is handled again.
    /// </summary>
    public const string Replay = "sb-replay";

    /// <summary>The CloudEvents spec version value.</summary>
    public const string SpecVersionValue = "1.0";
}
