using System.Collections.Concurrent;
using System.Globalization;

namespace Orders;

/// <summary>Charges orders. It also lets the program wait for a charge that a worker made in the background.</summary>
public sealed class PaymentDesk
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<PaymentReceipt>> _charges = new(StringComparer.Ordinal);
    private int _receipts;

    public PaymentReceipt Charge(ChargePayment command)
    {
        string receiptId = "rcpt-" + Interlocked.Increment(ref _receipts).ToString("000", CultureInfo.InvariantCulture);
        PaymentReceipt receipt = new(command.OrderId, command.AmountCents, receiptId);
        Slot(command.OrderId).TrySetResult(receipt);
        return receipt;
    }

    public Task<PaymentReceipt> WhenCharged(string orderId) => Slot(orderId).Task;

    private TaskCompletionSource<PaymentReceipt> Slot(string orderId)
        => _charges.GetOrAdd(orderId, static _ => new TaskCompletionSource<PaymentReceipt>(TaskCreationOptions.RunContinuationsAsynchronously));
}
