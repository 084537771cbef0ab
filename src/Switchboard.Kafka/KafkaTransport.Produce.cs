using Confluent.Kafka;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>Producing a record: the send path and its delivery report.</summary>
public sealed partial class KafkaTransport
{
    private async ValueTask SendOnceCreatedAsync(Task creating, string topic, TransportMessage message, CancellationToken cancellationToken)
    {
        await creating.ConfigureAwait(false);
        await Produce(topic, message, cancellationToken).ConfigureAwait(false);
    }

    private Task Produce(string topic, TransportMessage message, CancellationToken cancellationToken)
        => ProduceAsync(topic, KafkaWire.Key(message.PartitionKey), KafkaWire.Bytes(message.Body), HeaderWriter.ToHeaders(message.Headers, message.PartitionKey), cancellationToken);

    /// <summary>
    /// Produces one record; the task completes on its delivery report, and a failed delivery faults it with
    /// <see cref="KafkaSendException"/>. <c>Produce</c> with a delivery handler rather than <c>ProduceAsync</c>: the same
    /// report and the same hop of the continuation onto the thread pool, without the client's async state machine, its
    /// <c>DeliveryResult</c> and a task of it per record.
    /// </summary>
    internal Task ProduceAsync(string topic, byte[]? key, byte[] value, Headers headers, CancellationToken cancellationToken)
    {
        Delivery delivery = new(this, topic);
        try
        {
            _producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers }, delivery.Complete);
        }
        catch (ProduceException<byte[]?, byte[]?> ex)
        {
            return Task.FromException(NotConfirmed(topic, ex.Error, ex));
        }

        // Canceling stops the wait, not the record (it may still be written), as with ProduceAsync.
        return cancellationToken.CanBeCanceled ? delivery.Task.WaitAsync(cancellationToken) : delivery.Task;
    }

    // The error's code and reason only: librdkafka's texts can name brokers, never credentials.
    private static KafkaSendException NotConfirmed(string topic, Error error, Exception inner)
        => new($"Kafka did not confirm the message to topic '{topic}': {error.Code} ({error.Reason}).", inner);

    /// <summary>One record waiting for its delivery report (completed on the client's delivery-report thread; continuations run on the thread pool).</summary>
    private sealed class Delivery(KafkaTransport transport, string topic) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public void Complete(DeliveryReport<byte[]?, byte[]?> report)
        {
            if (report.Error.IsError)
            {
                TrySetException(NotConfirmed(topic, report.Error, new ProduceException<byte[]?, byte[]?>(report.Error, report)));
                return;
            }

            transport.Health.OnDelivered();
            TrySetResult();
        }
    }
}
