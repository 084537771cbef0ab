namespace Switchboard.Testing;

/// <summary>A <see cref="TestBus"/> assertion failed; the message says what was expected and lists what was recorded.</summary>
public sealed class TestBusAssertionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TestBusAssertionException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    /// <param name="message">What was expected and what was recorded.</param>
    public TestBusAssertionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    /// <param name="message">What was expected and what was recorded.</param>
    /// <param name="innerException">The cause.</param>
    public TestBusAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
