namespace Switchboard.Pipeline;

/// <summary>
/// The envelope fields of a message travelling through the bus without its body. A value type so that the
/// in-process fast path, where every field is null, costs nothing.
/// </summary>
internal readonly record struct MessageMetadata(
    string? MessageId,
    string? CorrelationId,
    string? CausationId,
    IReadOnlyDictionary<string, string>? Headers,
    int Attempt,
    string? Topic)
{
    /// <summary>Gets the database transaction of the unit of work the message is handled in (the inbox's), if any.</summary>
    public System.Data.Common.DbTransaction? Transaction { get; init; }

    public static MessageMetadata ForTopic(string topic) => new(null, null, null, null, 1, topic);
}
