using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Switchboard.Kafka;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Kafka;

/// <summary>
/// The process faults with a real consumer process (tests/Switchboard.IntegrationTests.Worker, mode
/// <c>kafka-load</c>): a poison message dead-lettered with its reason while the other keys of its partition keep flowing,
/// and a graceful stop (SIGTERM) under load: drained, committed, nothing lost, duplicates within what was read ahead.
/// </summary>
public sealed class KafkaWorkerFaultTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private readonly string _prefix = KafkaServer.NewPrefix();

    [Fact]
    public async Task PoisonMessage_InAConsumerProcess_IsDeadLetteredWithItsReason_WhileTheOtherKeysOfItsPartitionKeepFlowing()
    {
        const string destination = "poison";
        await KafkaServer.CreateTopicAsync(_prefix + destination, partitions: 1);
        await using WorkerProcess worker = WorkerProcess.Start(_prefix, destination);
        await worker.WaitForAsync("ready");
        await using IMessageBus sender = Sender(destination);
        await sender.PublishAsync(new KfAccountChanged("poison-0") { AggregateId = "p" });
        await sender.PublishAsync(new KfAccountChanged("p-1") { AggregateId = "p" });
        for (int i = 0; i < 20; i++)
        {
            await sender.PublishAsync(new KfAccountChanged($"other-{i}") { AggregateId = $"o{i % 4}" });
        }

        await worker.WaitForAsync("handled p-1");
        string[] lines = worker.Lines;
        int lastFailure = Array.LastIndexOf(lines, "failing poison-0 3");
        Assert.True(lastFailure >= 0, string.Join(" | ", lines));
        Assert.DoesNotContain("failing poison-0 4", lines);
        // Records of other keys, after the poison message in its partition, were handled during its retries (800 ms + 400 ms)...
        Assert.True(Array.IndexOf(lines, "handled other-0") < lastFailure, "the other keys waited for the poison message: " + string.Join(" | ", lines));
        // ... while its own key waited until it was dead-lettered.
        Assert.True(Array.IndexOf(lines, "handling p-1") > lastFailure, "p-1 overtook the poison message of its key: " + string.Join(" | ", lines));
        await Eventually.TrueAsync(() => worker.Lines.Count(l => l.StartsWith("handled other-", StringComparison.Ordinal)) == 20, Patience);

        await using KafkaTransport reader = new(KafkaServer.Options(_prefix));
        IDeadLetterQueue dlq = reader.GetDeadLetterQueue(destination, "billing");
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Contains("poison-0", Encoding.UTF8.GetString(dead.Message.Body.Span));
        Assert.Equal("p", dead.Message.PartitionKey);
        Assert.Equal(3, dead.Reason.Attempts);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Reason.ExceptionType);
        Assert.Contains("cannot apply poison-0", dead.Reason.Reason + dead.Reason.ExceptionDetails, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GracefulStop_UnderLoad_DrainsCommitsAndLeaves_TheNextConsumerLosesNothing_RepeatsOnlyWhatWasReadAhead()
    {
        const string destination = "load";
        const int total = 600;
        Ledger ledger = new();
        await using IMessageBus sender = Sender(destination);
        await sender.PublishAsync(new KfAccountChanged("m-0") { AggregateId = "k0" }); // creates the topic
        ledger.Published("m-0");
        WorkerProcess worker = WorkerProcess.Start(_prefix, destination);
        await using (worker)
        {
            await worker.WaitForAsync("ready");
            Task publishing = Task.Run(async () =>
            {
                for (int i = 1; i < total; i++)
                {
                    await sender.PublishAsync(new KfAccountChanged($"m-{i}") { AggregateId = $"k{i % 8}" });
                    ledger.Published($"m-{i}");
                }
            });
            await Eventually.TrueAsync(() => worker.Lines.Count(l => l.StartsWith("handled ", StringComparison.Ordinal)) >= 100, Patience, () => string.Join(" | ", worker.Lines.TakeLast(5)));
            Stopwatch stopping = Stopwatch.StartNew();
            worker.Terminate();
            Assert.Equal(0, await worker.ExitCodeAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("stopped", worker.Lines);
            await publishing;
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"the graceful stop took {stopping.Elapsed}");
        }

        string[] lines = worker.Lines;
        // Drained: every handler the worker started finished (none was cancelled by the stop).
        string[] started = [.. lines.Where(l => l.StartsWith("handling ", StringComparison.Ordinal)).Select(l => l["handling ".Length..])];
        string[] finished = [.. lines.Where(l => l.StartsWith("handled ", StringComparison.Ordinal)).Select(l => l["handled ".Length..])];
        Assert.Empty(started.Except(finished));
        foreach (string id in finished)
        {
            ledger.Handled(id);
        }

        Assert.True(ledger.HandledCount < total, "the worker handled everything before it was stopped: the stop was not under load");
        await using IMessageBus survivor = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseKafka(KafkaServer.Options(_prefix))
            .AddMessageType<KfAccountChanged>("worker.account-changed")
            .RouteToTransport<KfAccountChanged>(destination)
            .Handle<KfAccountChanged>(e => ledger.Handled(e.Id)));
        await ledger.WaitAllHandledAsync(Patience);
        // Committed: what the worker handled before it stopped is not handled again.
        // Committed: the worker commits nothing in the background (its CommitInterval is 10 min), so without the stop's commit
        // everything it handled (at least 100) would come again. With it, only records handled past a partition's first
        // unhandled record come again: a record read but not handed out when the bus stopped taking work (waiting behind an
        // earlier record of its key, or buffered) ends the contiguous watermark, and Kafka commits one offset per partition.
        // Those are among the records read ahead, at most MaxInFlightPerPartition (16 in the worker) per partition.
        ledger.AssertPassRule(maxDuplicates: 4 * 16);
    }

    private IMessageBus Sender(string destination) => MessageBus.Create(b => b
        .Configure(o => o.Name = "web")
        .UseKafka(KafkaServer.Options(_prefix))
        .AddMessageType<KfAccountChanged>("worker.account-changed")
        .RouteToTransport<KfAccountChanged>(destination));

    /// <summary>The worker process in mode <c>kafka-load</c>, group "billing", its standard output kept line by line.</summary>
    private sealed class WorkerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private WorkerProcess(Process process) => _process = process;

        public string[] Lines => [.. _lines];

        public static WorkerProcess Start(string prefix, string destination)
        {
            string worker = Path.Combine(AppContext.BaseDirectory, "Switchboard.IntegrationTests.Worker.dll");
            Assert.True(File.Exists(worker), $"the worker is built next to the tests: {worker}");
            ProcessStartInfo start = new("dotnet")
            {
                ArgumentList = { worker, "kafka-load", KafkaServer.BootstrapServers, prefix, destination, "billing" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            WorkerProcess started = new(Process.Start(start)!);
            started._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { started._lines.Enqueue(e.Data); } };
            started._process.ErrorDataReceived += (_, _) => { };
            started._process.BeginOutputReadLine();
            started._process.BeginErrorReadLine();
            return started;
        }

        public Task WaitForAsync(string line) => Eventually.TrueAsync(() => _lines.Contains(line), Patience, () => string.Join(" | ", Lines.TakeLast(10)));

        /// <summary>Sends SIGTERM, as a process manager stopping a service does.</summary>
        public void Terminate()
        {
            using Process kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
            kill.WaitForExit();
            Assert.Equal(0, kill.ExitCode);
        }

        public async Task<int> ExitCodeAsync(TimeSpan timeout)
        {
            using CancellationTokenSource cancel = new(timeout);
            await _process.WaitForExitAsync(cancel.Token);
            _process.WaitForExit(); // the output is read to its end
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
