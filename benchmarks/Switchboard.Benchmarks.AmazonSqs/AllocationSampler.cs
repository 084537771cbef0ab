using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

/// <summary>
/// The runtime's allocation samples (GCAllocationTick: about one per 100 KB allocated, naming the type whose allocation
/// crossed the mark), summed by type: where a contender's bytes per message go, for the profiling mode (--only ... --alloc).
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    /// <summary>Forgets what was sampled so far (after the warm-up).</summary>
    public void Reset() => _bytes.Clear();

    /// <summary>The types with the most sampled bytes, per message.</summary>
    public IEnumerable<string> Top(int count, int messages)
        => _bytes.OrderByDescending(p => p.Value).Take(count)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Value / (double)messages,8:N0} B/msg  {p.Key}"));

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        int typeIndex = eventData.PayloadNames.IndexOf("TypeName"), amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0 || eventData.Payload is null)
        {
            return;
        }

        string type = eventData.Payload[typeIndex] as string ?? "?";
        long amount = Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
