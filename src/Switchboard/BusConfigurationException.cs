namespace Switchboard;

/// <summary>The bus cannot be built as configured: the message says what is wrong and how to fix it.</summary>
public sealed class BusConfigurationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BusConfigurationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    public BusConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="innerException">The cause.</param>
    public BusConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
