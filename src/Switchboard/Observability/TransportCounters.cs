namespace Switchboard.Observability;

/// <summary>Counts for one transport; interlocked, since broker I/O dwarfs their cost.</summary>
internal sealed class TransportCounters
{
    private long _sent;
    private long _received;
    private long _acknowledged;
    private long _retried;
    private long _deadLettered;
    private long _ackFailures;

    public void Sent() => Interlocked.Increment(ref _sent);

    public void Received() => Interlocked.Increment(ref _received);

    public void Acknowledged() => Interlocked.Increment(ref _acknowledged);

    public void Retried() => Interlocked.Increment(ref _retried);

    public void DeadLettered() => Interlocked.Increment(ref _deadLettered);

    public void AcknowledgementFailed() => Interlocked.Increment(ref _ackFailures);

    public TransportStatistics Snapshot() => new()
    {
        Sent = Interlocked.Read(ref _sent),
        Received = Interlocked.Read(ref _received),
        Acknowledged = Interlocked.Read(ref _acknowledged),
        Retried = Interlocked.Read(ref _retried),
        DeadLettered = Interlocked.Read(ref _deadLettered),
        AcknowledgementFailures = Interlocked.Read(ref _ackFailures),
    };
}
