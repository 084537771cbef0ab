namespace Switchboard.Testing;

/// <summary>One message a <see cref="TestBus"/> saw leave application code (or a handler's cascade).</summary>
/// <param name="Kind">How it was sent: published, sent, requested or executed.</param>
/// <param name="Message">The message.</param>
/// <param name="Destination">The transport destination, or <see langword="null"/> when it stayed in process.</param>
/// <param name="Headers">The headers it carried.</param>
/// <param name="Answered">Whether a configured reply answered it (no handler ran).</param>
public sealed record RecordedMessage(OutgoingKind Kind, object Message, string? Destination, IReadOnlyDictionary<string, string> Headers, bool Answered)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Message}";
}
