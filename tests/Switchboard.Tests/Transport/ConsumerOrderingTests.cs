using System.Collections.Concurrent;

namespace Switchboard.Tests.Transport;

public sealed record AccountDebited(string Account, int Sequence) : DomainEvent;

public sealed class ConsumerOrderingTests
{
    [Fact]
    public async Task Consumer_WithSeveralWorkers_HandlesMessagesOfOneKeyInOrder()
    {
        const int perKey = 50;
        string[] accounts = ["a", "b", "c", "d", "e"];
        ConcurrentDictionary<string, List<int>> seen = new();
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int handled = 0;

        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.ConsumerConcurrency = 4;
            b.Handle<AccountDebited>(async (e, ct) =>
            {
                // Uneven, asynchronous work: without per-key lanes, later messages of a key would overtake earlier ones.
                await Task.Delay(e.Sequence % 3, ct);
                List<int> list = seen.GetOrAdd(e.Account, _ => []);
                lock (list)
                {
                    list.Add(e.Sequence);
                }

                if (Interlocked.Increment(ref handled) == accounts.Length * perKey)
                {
                    done.TrySetResult();
                }
            });
        });

        for (int i = 0; i < perKey; i++)
        {
            foreach (string account in accounts)
            {
                await bus.ExecuteAsync(new AccountDebited(account, i) { AggregateId = account }, new ExecuteOptions { Wait = false });
            }
        }

        await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
        foreach (string account in accounts)
        {
            Assert.Equal(Enumerable.Range(0, perKey), seen[account]);
        }
    }
}
