using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>A message received from SQS and not yet settled.</summary>
internal sealed partial class SqsReceived(SqsReceiver receiver, TransportMessage message, int deliveryCount, string receiptHandle, DateTimeOffset receivedAt)
    : ReceivedMessage(message, deliveryCount)
{
    public string ReceiptHandle { get; } = receiptHandle;

    public DateTimeOffset ReceivedAt { get; } = receivedAt;

    /// <summary>Gets or sets whether the lease limit was reached and logged.</summary>
    public bool LimitReached { get; set; }

    private int _returned;

    /// <summary>Tells the queue once that the bus gave this message back for settling (its delete, if any, is queued).</summary>
    public void Returned()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            Queue?.Returned();
        }
    }

    public override ValueTask AckAsync(CancellationToken cancellationToken) => new(receiver.AckAsync(this).WaitAsync(cancellationToken));

    public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => new(receiver.RetryAsync(this, delay).WaitAsync(cancellationToken));

    public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new(receiver.DeadLetterAsync(this, reason).WaitAsync(cancellationToken));
    }
}
