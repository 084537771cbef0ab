namespace Switchboard;

/// <summary>What <see cref="IMessageBus.ShutdownAsync(TimeSpan)"/> finished and what it had to leave.</summary>
public sealed record ShutdownReport
{
    /// <summary>Gets whether everything in flight and queued finished within the timeout.</summary>
    public bool Completed { get; init; }

    /// <summary>Gets how many handler dispatches were still running when the timeout expired.</summary>
    public long InFlightAbandoned { get; init; }

    /// <summary>Gets how many background publishes were still queued or running when the timeout expired.</summary>
    public long BackgroundAbandoned { get; init; }

    /// <summary>Gets how long the shutdown took.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>Thrown when a bus that is shutting down or shut down is asked to accept a message.</summary>
public sealed class BusStoppedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BusStoppedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public BusStoppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BusStoppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
