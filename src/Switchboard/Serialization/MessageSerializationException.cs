namespace Switchboard.Serialization;

/// <summary>A body could not be read or written: malformed bytes, an unknown type name, or a value that has no wire form.</summary>
public sealed class MessageSerializationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessageSerializationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What could not be read or written, and why.</param>
    public MessageSerializationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the serializer's error.</summary>
    /// <param name="message">What could not be read or written, and why.</param>
    /// <param name="innerException">The serializer's error.</param>
    public MessageSerializationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
