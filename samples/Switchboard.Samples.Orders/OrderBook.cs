using System.Collections.Concurrent;

namespace Orders;

/// <summary>The shop's order table; in memory for the sample, a database in an application.</summary>
public sealed class OrderBook
{
    private readonly ConcurrentDictionary<string, string> _status = new(StringComparer.Ordinal);

    public void Set(string orderId, string status) => _status[orderId] = status;

    public string Get(string orderId) => _status.GetValueOrDefault(orderId, "unknown");

    /// <summary>Cancels an order that exists and has not shipped yet.</summary>
    public bool TryCancel(string orderId)
        => _status.TryGetValue(orderId, out string? status) && status != "shipped" && _status.TryUpdate(orderId, "cancelled", status);
}
