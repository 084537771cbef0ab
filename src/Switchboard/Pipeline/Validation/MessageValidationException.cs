namespace Switchboard;

/// <summary>
/// A message failed validation. In process the caller of <c>SendAsync</c>, <c>RequestAsync</c> or a publish in
/// <see cref="HandlerErrorMode.Throw"/> gets it, and a message sent to a transport is refused before it leaves; a received
/// message is dead-lettered at once with the errors as the reason (it is a <see cref="MessageRejectedException"/>).
/// </summary>
public sealed class MessageValidationException : MessageRejectedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="messageType">The type of the message that failed.</param>
    /// <param name="errors">What is wrong with it.</param>
    public MessageValidationException(Type messageType, IReadOnlyList<string> errors)
        : base($"{messageType?.Name} is not valid: {string.Join("; ", errors ?? [])}")
    {
        ArgumentNullException.ThrowIfNull(messageType);
        ArgumentNullException.ThrowIfNull(errors);
        MessageType = messageType;
        Errors = errors;
    }

    /// <summary>Gets the type of the message that failed.</summary>
    public Type MessageType { get; }

    /// <summary>Gets what is wrong with the message, one sentence each.</summary>
    public IReadOnlyList<string> Errors { get; }
}
