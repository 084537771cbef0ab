using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

/// <summary>
/// Counts the SQS calls a client makes and the entries each one carried (through the SDK's <c>AfterResponseEvent</c>), to
/// compare the raw loop's calls with Switchboard's: how many batch calls carried fewer than 10 entries, how many receives
/// came back empty. <c>--count</c> prints one table per contender.
/// </summary>
public sealed class CallCounter
{
    private readonly ConcurrentDictionary<string, Stat> _stats = new(StringComparer.Ordinal);

    public void Attach(AmazonSQSClient client) => client.AfterResponseEvent += (_, e) =>
    {
        if (e is not WebServiceResponseEventArgs { Request: { } request, Response: { } response })
        {
            return;
        }

        (string name, int entries) = (request, response) switch
        {
            (SendMessageBatchRequest r, _) => ("SendMessageBatch", r.Entries.Count),
            (DeleteMessageBatchRequest r, _) => ("DeleteMessageBatch", r.Entries.Count),
            (ChangeMessageVisibilityBatchRequest r, _) => ("ChangeMessageVisibilityBatch", r.Entries.Count),
            (_, ReceiveMessageResponse r) => ("ReceiveMessage", r.Messages?.Count ?? 0),
            _ => (request.GetType().Name.Replace("Request", string.Empty, StringComparison.Ordinal), 1),
        };
        _stats.GetOrAdd(name, _ => new Stat()).Add(entries);
    };

    public string Report(string who, int messages)
    {
        StringBuilder text = new();
        text.AppendLine(CultureInfo.InvariantCulture, $"{who}: calls per 100 messages, entries per call");
        foreach ((string name, Stat stat) in _stats.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"  {name,-30} calls {stat.Calls,6} ({100.0 * stat.Calls / messages,6:0.0}/100 msg)  entries {stat.Entries,7}  mean {(double)stat.Entries / Math.Max(1, stat.Calls),5:0.00}  <10: {stat.Partial,6}  empty: {stat.Empty,5}  hist {stat.Histogram()}");
        }

        return text.ToString();
    }

    private sealed class Stat
    {
        private readonly int[] _sizes = new int[11];
        public int Calls;
        public int Entries;
        public int Partial;
        public int Empty;

        public void Add(int entries)
        {
            Interlocked.Increment(ref Calls);
            Interlocked.Add(ref Entries, entries);
            Interlocked.Increment(ref _sizes[Math.Min(10, entries)]);
            if (entries == 0)
            {
                Interlocked.Increment(ref Empty);
            }
            else if (entries < 10)
            {
                Interlocked.Increment(ref Partial);
            }
        }

        public string Histogram() => string.Join(' ', _sizes.Select((n, i) => n == 0 ? null : $"{i}:{n}").Where(s => s is not null));
    }
}
