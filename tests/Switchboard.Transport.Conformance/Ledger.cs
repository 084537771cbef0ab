using System.Collections.Concurrent;

namespace Switchboard.Transport.Conformance;

/// <summary>
/// The pass rule of every conformance test: every message whose publish returned is handled (lost = 0), nothing is
/// handled that was not published, and duplicates stay within what was in flight.
/// </summary>
public sealed class Ledger
{
    private readonly ConcurrentDictionary<string, byte> _published = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _handled = new(StringComparer.Ordinal);

    public void Published(string id) => _published[id] = 0;

    public void Handled(string id) => _handled.AddOrUpdate(id, 1, static (_, n) => n + 1);

    public int HandledCount => _handled.Count;

    public int Times(string id) => _handled.TryGetValue(id, out int n) ? n : 0;

    public int Lost => _published.Keys.Count(id => !_handled.ContainsKey(id));

    public int Duplicates => _handled.Values.Sum(n => n - 1);

    public async Task WaitAllHandledAsync(TimeSpan timeout)
    {
        await Eventually.TrueAsync(() => Lost == 0, timeout, () => $"lost {Lost} of {_published.Count}");
    }

    public void AssertPassRule(int maxDuplicates = 0)
    {
        Assert.True(Lost == 0, $"lost {Lost} of {_published.Count} published messages");
        string[] invented = [.. _handled.Keys.Where(id => !_published.ContainsKey(id))];
        Assert.True(invented.Length == 0, $"handled {invented.Length} message(s) never published: {string.Join(", ", invented.Take(5))}");
        Assert.True(Duplicates <= maxDuplicates, $"{Duplicates} duplicate deliveries, at most {maxDuplicates} expected");
    }
}

public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not true within {timeout.TotalSeconds:0.#} s{(describe is null ? string.Empty : ": " + describe())}");
            }

            await Task.Delay(10);
        }
    }
}
