using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// A consumer process (tests/Switchboard.IntegrationTests.Worker, mode <c>kafka</c>) killed for real while records of
/// several keys completed out of order around one it holds: the survivor handles everything that was not handled, in key
/// order, and nothing is lost.
/// </summary>
public sealed class KafkaKilledConsumerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = KafkaServer.NewPrefix();

    [Fact]
    public async Task Consumer_KilledAfterOutOfOrderCompletion_SurvivorHandlesTheRestInKeyOrder_NothingLost()
    {
        const string destination = "accounts";
        string worker = Path.Combine(AppContext.BaseDirectory, "Switchboard.IntegrationTests.Worker.dll");
        Assert.True(File.Exists(worker), $"the worker is built next to the tests: {worker}");
        ProcessStartInfo start = new("dotnet")
        {
            ArgumentList = { worker, "kafka", KafkaServer.BootstrapServers, _prefix, destination, "billing" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        ConcurrentQueue<string> lines = new();
        Ledger ledger = new();
        List<string> published = [];
        using Process child = Process.Start(start)!;
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        child.ErrorDataReceived += (_, _) => { };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            await Eventually.TrueAsync(() => lines.Contains("ready"), Patience);
            await using IMessageBus sender = MessageBus.Create(b => b
                .Configure(o => o.Name = "web")
                .UseKafka(KafkaServer.Options(_prefix))
                .AddMessageType<KfAccountChanged>("worker.account-changed")
                .RouteToTransport<KfAccountChanged>(destination));
            for (int i = 0; i < 10; i++)
            {
                foreach (string key in new[] { "a", "b", "c" })
                {
                    // a-3 hangs in the worker: a-4..a-9 wait behind it; b and c (maybe in a-3's partition) complete.
                    string id = key == "a" && i == 3 ? "hang-a-3" : $"{key}-{i}";
                    await sender.PublishAsync(new KfAccountChanged(id) { AggregateId = key });
                    ledger.Published(id);
                    published.Add(id);
                }
            }

            // The worker handles what it can: records of other keys (also after a-3, in its partition) complete while a-3
            // hangs. (A key whose worker lane is shared with "a" waits behind it too: the bus's lanes are per key hash.)
            await Eventually.TrueAsync(() => lines.Contains("handling hang-a-3"), Patience, () => string.Join(" | ", lines));
            int seen;
            do
            {
                seen = lines.Count;
                // Quiet for two seconds: everything it could handle is handled, commits had their intervals. Longer than the
                // receiver's wait for room in a full partition (at most 500 ms before it pauses the partition), during which
                // the worker prints nothing and later records of other keys are still to come.
                await Task.Delay(2000);
            }
            while (lines.Count != seen);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        string[] workerLines = [.. lines];
        foreach (string line in workerLines.Where(l => l.StartsWith("handled ", StringComparison.Ordinal)))
        {
            ledger.Handled(line["handled ".Length..]);
        }

        // Held back behind the hung a-3: never handled by the killed worker; while records published after it were.
        Assert.DoesNotContain(workerLines, l => l is "handled a-4" or "handled a-5" or "handled a-9");
        Assert.Contains(workerLines, l => l is "handled b-9" or "handled c-9");

        ConcurrentQueue<string> survivorOrder = new();
        await using IMessageBus survivor = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseKafka(KafkaServer.Options(_prefix))
            .AddMessageType<KfAccountChanged>("worker.account-changed")
            .RouteToTransport<KfAccountChanged>(destination)
            .Handle<KfAccountChanged>(e =>
            {
                survivorOrder.Enqueue(e.Id);
                ledger.Handled(e.Id);
            }));

        await ledger.WaitAllHandledAsync(Patience);
        // Duplicates are bounded by what was in flight past the committed watermark (here: at most the records after a-3 in its partition).
        ledger.AssertPassRule(maxDuplicates: 20);
        string[] aOrder = [.. survivorOrder.Where(id => id.EndsWith("a-3", StringComparison.Ordinal) || id.StartsWith("a-", StringComparison.Ordinal)).Where(id => id != "a-0" && id != "a-1" && id != "a-2")];
        Assert.Equal(["hang-a-3", "a-4", "a-5", "a-6", "a-7", "a-8", "a-9"], aOrder);
    }
}
