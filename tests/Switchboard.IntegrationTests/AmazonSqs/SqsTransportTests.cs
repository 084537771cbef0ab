using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Switchboard.AmazonSqs;
using Switchboard.Responses;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>What the SQS transport promises beyond the shared suite, each against the emulator; the peers' lessons among them.</summary>
public sealed class SqsTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly InMemoryResponseStore _responses = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await SqsServer.DeleteQueuesAsync(_prefix);
    }

    [Fact]
    public async Task SlowHandler_LongerThanTheVisibilityTimeout_IsHandledOnce_WhileTheLeaseIsExtended()
    {
        ConcurrentDictionary<string, int> handled = new();
        int completed = 0;
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("slow"));
        for (int i = 0; i < 2; i++)
        {
            // Two competing consumers: without lease extension the second would take the message when its visibility ends.
            // A 4 s lease, extended every third of it: a machine stalled for over 2.6 s would let it lapse (with 2 s, a
            // 1.3 s stall of a loaded CI machine did once).
            Bus("billing", o => o.VisibilityTimeout = TimeSpan.FromSeconds(4), b => b.RouteToTransport<SqsOrder>("slow").Handle<SqsOrder>(async (e, ct) =>
            {
                handled.AddOrUpdate(e.Id, 1, static (_, n) => n + 1);
                await Task.Delay(TimeSpan.FromSeconds(9), ct);
                Interlocked.Increment(ref completed);
            }));
        }

        await StartedAsync();
        await sender.PublishAsync(new SqsOrder("slow-1"));
        await Eventually.TrueAsync(() => handled.ContainsKey("slow-1"), Patience);
        // The handler ran its 9 s (more than two visibility timeouts) and the message is deleted: a message whose lease had
        // lapsed meanwhile would have been taken by the other consumer (counted when it started) or be in the queue still.
        await Eventually.TrueAsync(() => Volatile.Read(ref completed) >= 1, Patience);
        await QueueEmptyAsync("slow");
        Assert.Equal(1, handled["slow-1"]);
    }

    [Fact]
    public async Task RetryDelay_LongerThanTheVisibilityTimeout_NeverHandlesTheMessageTwiceAtOnce()
    {
        // MassTransit #2385: a retry delay longer than the visibility timeout must not let a second consumer take the message meanwhile.
        ConcurrentQueue<(int Attempt, long Start, long End)> attempts = new();
        int running = 0;
        int overlaps = 0;
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("retry-long"));
        for (int i = 0; i < 2; i++)
        {
            // A 2 s lease (extended every third of it) under a 3 s retry delay: the delay outlasts the lease, and a loaded
            // machine may stall for up to 1.3 s without the lease lapsing (with 1 s, only 0.67 s).
            Bus("billing", o => o.VisibilityTimeout = TimeSpan.FromSeconds(2), b => b
                .Configure(o => { o.Retry.MaxAttempts = 3; o.Retry.InitialDelay = TimeSpan.FromSeconds(3); o.Retry.Jitter = false; })
                .RouteToTransport<SqsOrder>("retry-long")
                .Handle<SqsOrder>(async (e, context, ct) =>
                {
                    if (Interlocked.Increment(ref running) > 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    long start = Stopwatch.GetTimestamp();
                    await Task.Delay(300, ct);
                    Interlocked.Decrement(ref running);
                    attempts.Enqueue((context.Attempt, start, Stopwatch.GetTimestamp()));
                    if (context.Attempt < 2)
                    {
                        throw new TimeoutException("gateway timeout");
                    }
                }));
        }

        await StartedAsync();
        await sender.PublishAsync(new SqsOrder("r-1"));
        await Eventually.TrueAsync(() => attempts.Count >= 2, Patience);
        // Nothing left in the queue (visible, in flight or delayed) after the second attempt succeeded: no further handling can
        // start, and every one that ran was recorded before its message was deleted or returned.
        await QueueEmptyAsync("retry-long");
        Assert.Equal(0, overlaps);
        (int Attempt, long Start, long End)[] seen = [.. attempts];
        Assert.Equal([1, 2], seen.Select(a => a.Attempt));
        TimeSpan gap = Stopwatch.GetElapsedTime(seen[0].End, seen[1].Start);
        Assert.True(gap >= TimeSpan.FromSeconds(2.5), $"the retry waited its delay ({gap})");
    }

    [Fact]
    public async Task LeaseRenewal_StopsAtTheLeaseLimit_WithAClearLog_AndTheConsumerGoesOn()
    {
        // MassTransit #6179: renewal beyond SQS's 12-hour limit must stop with a log, not fail. The limit is shortened here.
        ListLogger logs = new();
        TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ConcurrentQueue<string> handled = new();
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("limit"));
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.VisibilityTimeout = TimeSpan.FromSeconds(1);
        options.MaxLeaseDuration = TimeSpan.FromSeconds(2);
        SqsTransport consumer = new(options, logs);
        _owned.Add(consumer);
        IMessageBus billing = Own(MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseTransport(consumer)
            .RouteToTransport<SqsOrder>("limit")
            .Handle<SqsOrder>(async (e, context, ct) =>
            {
                handled.Enqueue($"{e.Id}#{context.Attempt}");
                if (e.Id == "long" && context.Attempt == 1)
                {
                    await released.Task.WaitAsync(ct);
                }
            })));
        await StartedAsync();

        await sender.PublishAsync(new SqsOrder("long"));
        await Eventually.TrueAsync(() => logs.Entries.Any(l => l.Contains("lease limit", StringComparison.Ordinal)), Patience, () => string.Join(" | ", logs.Entries));
        string log = logs.Entries.First(l => l.Contains("lease limit", StringComparison.Ordinal));
        Assert.Contains("12 hours", log);
        // Past the limit SQS delivers the message again (at-least-once, as documented); the consumer keeps working.
        await Eventually.TrueAsync(() => handled.Contains("long#2"), Patience, () => string.Join(" ", handled));
        released.TrySetResult();
        await sender.PublishAsync(new SqsOrder("after"));
        await Eventually.TrueAsync(() => handled.Any(h => h.StartsWith("after#", StringComparison.Ordinal)), Patience);
        Assert.DoesNotContain(logs.Entries, l => l.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeadLettering_CopiesThenDeletes_SoTheOriginalNeverComesBack()
    {
        // Wolverine #4488: the original must be gone once the copy is in the dead-letter queue.
        int calls = 0;
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("poison"));
        Bus("billing", o => o.VisibilityTimeout = TimeSpan.FromSeconds(1), b => b
            .Configure(o => { o.Retry.MaxAttempts = 2; o.Retry.InitialDelay = TimeSpan.FromMilliseconds(10); })
            .RouteToTransport<SqsOrder>("poison")
            .Handle<SqsOrder>(e =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("card declined");
            }));
        await StartedAsync();
        await sender.PublishAsync(new SqsOrder("p-1"));

        IDeadLetterQueue dlq = Transport().GetDeadLetterQueue("poison", "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        // An undeleted original would count as in flight (its visibility timeout running) or visible, never as gone.
        await QueueEmptyAsync("poison");
        Assert.Equal(2, Volatile.Read(ref calls));
        SqsQueueInfo info = await Transport().GetQueueInfoAsync("poison", "billing");
        Assert.Equal(new SqsQueueInfo(0, 0, 0, 1), info);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Equal(2, dead.Reason.Attempts);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Reason.ExceptionType);
        Assert.Contains("card declined", dead.Reason.Reason);

        // The attributes on the SQS message itself, for anyone reading the queue without Switchboard.
        using AmazonSQSClient client = SqsServer.Client();
        string url = (await client.GetQueueUrlAsync(_prefix + "poison--billing--dlq")).QueueUrl;
        ReceiveMessageResponse raw = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MessageAttributeNames = ["All"], VisibilityTimeout = 0 });
        Dictionary<string, MessageAttributeValue> attributes = Assert.Single(raw.Messages).MessageAttributes;
        Assert.Contains("card declined", attributes["sb-dlq-reason"].StringValue);
        Assert.Equal("2", attributes["sb-dlq-attempts"].StringValue);
        Assert.Equal(typeof(InvalidOperationException).FullName, attributes["sb-dlq-exception-type"].StringValue);
    }

    [Fact]
    public async Task Send_LargerThanTheQueuesMaximumMessageSize_FailsWithTheTypeAndTheSize()
    {
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsBlob>("sized"));
        Bus("archive", o => { }, b => b.RouteToTransport<SqsBlob>("sized").Handle<SqsBlob>(_ => { }));
        await StartedAsync();
        using AmazonSQSClient client = SqsServer.Client();
        string url = (await client.GetQueueUrlAsync(_prefix + "sized--archive")).QueueUrl;
        GetQueueAttributesResponse before = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["MaximumMessageSize"] });
        Assert.Equal("1048576", before.Attributes["MaximumMessageSize"]); // the emulator, like SQS today, allows 1 MiB
        await client.SetQueueAttributesAsync(url, new Dictionary<string, string> { ["MaximumMessageSize"] = "1024" });

        // A transport that reads the queue now (as a newly started sender would) sees the old 1 KiB-style limit.
        IMessageBus fresh = Bus("web2", o => { }, b => b.RouteToTransport<SqsBlob>("sized"));
        MessageTooLargeException ex = await Assert.ThrowsAsync<MessageTooLargeException>(async () => await fresh.PublishAsync(new SqsBlob(new string('x', 2000))));
        Assert.Contains(nameof(SqsBlob), ex.Message);
        Assert.Contains("1024", ex.Message);
        Assert.Contains("MaximumMessageSize", ex.Message);
        await fresh.PublishAsync(new SqsBlob("small"));
    }

    [Fact]
    public async Task ConcurrentSends_AreAllConfirmedAndHandled_ThroughCoalescedBatches()
    {
        const int count = 200;
        Ledger ledger = new();
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("batch"));
        Bus("billing", o => { }, b => b.RouteToTransport<SqsOrder>("batch").Handle<SqsOrder>(e => ledger.Handled(e.Id)));
        await StartedAsync();
        await sender.PublishAsync(new SqsOrder("warm-up"));
        ledger.Published("warm-up");

        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await sender.PublishAsync(new SqsOrder($"b-{i}"));
            ledger.Published($"b-{i}");
        }));

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task Fifo_KeepsPerKeyOrder_ThroughARetry()
    {
        ConcurrentDictionary<string, ConcurrentQueue<int>> order = new();
        int failedOnce = 0;
        IMessageBus sender = Bus("web", o => o.Fifo = true, b => b.RouteToTransport<SqsKeyed>("fifo"));
        Bus("billing", o => o.Fifo = true, b => b
            .Configure(o => o.ConsumerConcurrency = 4)
            .RouteToTransport<SqsKeyed>("fifo")
            .Handle<SqsKeyed>(e =>
            {
                if (e.Key == "k1" && e.Seq == 3 && Interlocked.Exchange(ref failedOnce, 1) == 0)
                {
                    throw new TimeoutException("first attempt of k1#3 fails");
                }

                order.GetOrAdd(e.Key, _ => new ConcurrentQueue<int>()).Enqueue(e.Seq);
            }));
        await StartedAsync();

        for (int seq = 0; seq < 10; seq++)
        {
            foreach (string key in (string[])["k1", "k2", "k3"])
            {
                await sender.PublishAsync(new SqsKeyed(key, seq) { AggregateId = key });
            }
        }

        await Eventually.TrueAsync(() => order.Values.Sum(q => q.Count) == 30, Patience, () => string.Join(" ", order.Select(p => $"{p.Key}:{string.Join(",", p.Value)}")));
        foreach ((string key, ConcurrentQueue<int> seen) in order)
        {
            Assert.True(seen.SequenceEqual(Enumerable.Range(0, 10)), $"{key}: {string.Join(",", seen)}");
        }

        Assert.Equal(1, failedOnce);
    }

    [Fact]
    public async Task RedrivePolicy_MovesAMessageNobodySettles_AndTheDeadLetterListingSaysSo()
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.RedriveMaxReceiveCount = 2;
        SqsTransport transport = new(options);
        _owned.Add(transport);
        await (await transport.CreateReceiverAsync(new ReceiverOptions("crash", "billing", "c1"), CancellationToken.None)).DisposeAsync();
        await transport.SendAsync(new TransportMessage { Destination = "crash", Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "c-1" }, Body = "{}"u8.ToArray() }, CancellationToken.None);

        // A consumer that crashes each time: received, never settled, visible again at once.
        using AmazonSQSClient client = SqsServer.Client();
        string url = (await client.GetQueueUrlAsync(_prefix + "crash--billing")).QueueUrl;
        for (int i = 0; i < 3; i++)
        {
            await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, VisibilityTimeout = 0, WaitTimeSeconds = 1 });
        }

        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("crash", "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Contains("redrive policy", dead.Reason.Reason);
        Assert.Equal("c-1", dead.Message.MessageId);
        Assert.True(await dlq.ReplayAsync(dead.Id));
        Assert.Equal(0, await dlq.CountAsync());
    }

    [Fact]
    public async Task Send_ToADestinationNobodyConsumes_FailsClearly()
    {
        IMessageBus sender = Bus("web", o => { }, b => b.RouteToTransport<SqsOrder>("nobody"));
        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await sender.PublishAsync(new SqsOrder("x")));
        Assert.Contains("No SQS queue consumes destination 'nobody'", ex.Message);
    }

    [Fact]
    public async Task WithTopologyCreationOff_AMissingQueueIsNamedInTheError_AndOperatorQueuesAreUsed()
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.CreateTopology = false;
        options.DeadLetterEnabled = false;
        SqsTransport transport = new(options);
        _owned.Add(transport);
        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await transport.CreateReceiverAsync(new ReceiverOptions("ops", "billing", "c1"), CancellationToken.None));
        Assert.Contains($"'{_prefix}ops--billing'", ex.Message);
        Assert.Contains("CreateTopology", ex.Message);

        using AmazonSQSClient client = SqsServer.Client();
        await client.CreateQueueAsync(_prefix + "ops--billing");
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("ops", "billing", "c1"), CancellationToken.None);
        await transport.SendAsync(new TransportMessage { Destination = "ops", Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "m-1" }, Body = "{}"u8.ToArray() }, CancellationToken.None);
        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
        Assert.Equal("m-1", received.Message.MessageId);
        await received.AckAsync(CancellationToken.None);
    }

    [Fact]
    public async Task BinaryBodiesAndManyHeaders_SurviveTheRoundTrip()
    {
        SqsTransport transport = Transport();
        await using ITransportReceiver receiver = await transport.CreateReceiverAsync(new ReceiverOptions("wire", "billing", "c1"), CancellationToken.None);
        Dictionary<string, string> headers = new(StringComparer.Ordinal) { [MessageHeaders.MessageId] = "w-1" };
        for (int i = 0; i < 14; i++)
        {
            headers[$"x-h{i}"] = $"v{i}";
        }

        headers["with space"] = "still carried";
        byte[] body = [0, 1, 2, 0xFF, 0xFE, 10, 13];
        await transport.SendAsync(new TransportMessage { Destination = "wire", Headers = headers, Body = body, PartitionKey = "key-1" }, CancellationToken.None);
        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
        Assert.Equal(body, received.Message.Body.ToArray());
        Assert.Equal(headers.OrderBy(h => h.Key), received.Message.Headers.OrderBy(h => h.Key));
        Assert.Equal("key-1", received.Message.PartitionKey);
        await received.AckAsync(CancellationToken.None);
    }

    [Fact]
    public void Options_AreValidated_WithoutQuotingTheKeys()
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.SecretAccessKey = null;
        ArgumentException ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("AccessKeyId", ex.Message);
        Assert.DoesNotContain(SqsServer.AccessKeyId + "\"", ex.Message);
        Assert.Throws<ArgumentException>(() => new SqsTransportOptions { ServiceUrl = SqsServer.Url, MaxMessagesPerReceive = 11 }.Validate());
        Assert.Throws<ArgumentException>(() => new SqsTransportOptions { ServiceUrl = SqsServer.Url, WaitTime = TimeSpan.FromSeconds(21) }.Validate());
        Assert.Throws<ArgumentException>(() => new SqsTransportOptions { ServiceUrl = SqsServer.Url, VisibilityTimeout = TimeSpan.FromHours(13) }.Validate());
        Assert.Throws<ArgumentException>(() => new SqsTransportOptions { ServiceUrl = SqsServer.Url, QueueNamePrefix = "has space" }.Validate());
        new SqsTransportOptions { ServiceUrl = SqsServer.Url }.Validate();
    }

    /// <summary>Waits until billing's queue of <paramref name="destination"/> holds nothing visible, in flight or delayed.</summary>
    private async Task QueueEmptyAsync(string destination)
    {
        SqsTransport transport = Transport();
        DateTime deadline = DateTime.UtcNow + Patience;
        SqsQueueInfo info;
        while ((info = await transport.GetQueueInfoAsync(destination, "billing")) is not { Visible: 0, InFlight: 0, Delayed: 0 })
        {
            Assert.True(DateTime.UtcNow < deadline, $"the queue is not empty within {Patience.TotalSeconds:0} s: {info}");
            await Task.Delay(50);
        }
    }

    private SqsTransport Transport()
    {
        SqsTransport transport = new(SqsServer.Options(_prefix));
        _owned.Add(transport);
        return transport;
    }

    private IMessageBus Bus(string name, Action<SqsTransportOptions> options, Action<BusBuilder> configure)
    {
        SqsTransportOptions o = SqsServer.Options(_prefix);
        options(o);
        SqsTransport transport = new(o);
        _owned.Add(transport);
        return Own(MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            b.UseTransport(transport).UseResponseStore(_responses);
            configure(b);
        }));
    }

    private IMessageBus Own(IMessageBus bus)
    {
        _owned.Add(bus);
        return bus;
    }

    private async Task StartedAsync()
    {
        foreach (IAsyncDisposable owned in _owned)
        {
            if (owned is Switchboard.Bus.SwitchboardBus bus)
            {
                await bus.EnsureStartedAsync(CancellationToken.None);
            }
        }
    }

    private sealed class ListLogger : ILogger<SqsTransport>
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Entries.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}

public sealed record SqsOrder(string Id);

public sealed record SqsBlob(string Data);

public sealed record SqsKeyed(string Key, int Seq) : DomainEvent;
