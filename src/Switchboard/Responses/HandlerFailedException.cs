namespace Switchboard;

/// <summary>A handler that ran on a worker (through a transport) failed on its last attempt; the message is dead-lettered.</summary>
public sealed class HandlerFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HandlerFailedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public HandlerFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public HandlerFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the full name of the exception type the handler threw.</summary>
    public string? RemoteExceptionType { get; init; }
}
