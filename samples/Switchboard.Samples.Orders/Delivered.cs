using System.Collections.Concurrent;

namespace Orders;

/// <summary>Lets the scenario wait until an order's OrderCreated reached its handlers (the outbox delivers it a moment after the commit).</summary>
internal static class Delivered
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> s_orders = new(StringComparer.Ordinal);

    public static Task WhenDelivered(string orderId) => Get(orderId).Task;

    public static void Signal(string orderId) => Get(orderId).TrySetResult();

    private static TaskCompletionSource Get(string orderId)
        => s_orders.GetOrAdd(orderId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
