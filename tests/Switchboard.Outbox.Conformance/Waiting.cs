namespace Switchboard.Outbox.Conformance;

/// <summary>Polls a condition until it holds or the time is up.</summary>
public static class Waiting
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
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

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not true within {timeout.TotalSeconds:0.#} s{(describe is null ? string.Empty : ": " + describe())}");
            }

            await Task.Delay(20);
        }
    }
}
