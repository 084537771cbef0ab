namespace Switchboard;

/// <summary>A serialized message is larger than <see cref="BusOptions.MaxMessageBytes"/>; it was not sent.</summary>
public sealed class MessageTooLargeException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public MessageTooLargeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MessageTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MessageTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
