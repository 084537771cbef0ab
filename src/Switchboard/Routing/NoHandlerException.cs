namespace Switchboard;

/// <summary>Thrown when a command or request is sent and no handler is registered for its type.</summary>
public sealed class NoHandlerException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public NoHandlerException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message, naming the type and how to register a handler.</param>
    public NoHandlerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public NoHandlerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
