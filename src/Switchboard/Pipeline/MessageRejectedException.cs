namespace Switchboard;

/// <summary>
/// Thrown (by middleware or a handler) when the message itself is at fault, so that handling it again cannot succeed. A
/// received message that fails with it is dead-lettered at once with the exception's message as the reason, without the
/// retries a transient failure gets; in process the caller gets the exception as usual.
/// </summary>
public class MessageRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessageRejectedException()
        : this("The message was rejected.")
    {
    }

    /// <summary>Creates the exception with the reason.</summary>
    /// <param name="message">Why the message was rejected; it becomes the dead-letter reason.</param>
    public MessageRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and the cause.</summary>
    /// <param name="message">Why the message was rejected.</param>
    /// <param name="innerException">The cause.</param>
    public MessageRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
