using System.Collections.Concurrent;
using System.Text;
using Switchboard.Bus;
using Switchboard.Responses;

namespace Switchboard.Transport.Conformance;

/// <summary>
/// The suite every transport passes. A transport's test project derives one class, gives a factory and the capabilities
/// it declares. Each test runs two or more buses, as separate services would, over transports from
/// <see cref="CreateTransportAsync"/>; the pass rule is <see cref="Ledger.AssertPassRule"/>: lost = 0, nothing handled
/// that was not published.
/// </summary>
public abstract partial class TransportConformanceTests : IAsyncLifetime
{
    private readonly List<IMessageBus> _buses = [];
    private readonly List<ITransport> _transports = [];
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// Returns a transport on this test's broker namespace. Two calls may return the same instance (in memory) or two
    /// connections to one broker (as two processes would have). The suite disposes what it gets, after the buses.
    /// </summary>
    protected abstract ValueTask<ITransport> CreateTransportAsync();

    /// <summary>Gets the capabilities the transport must declare.</summary>
    protected abstract TransportCapabilities ExpectedCapabilities { get; }

    /// <summary>Returns the response store a bus on <paramref name="transport"/> uses; all buses of a test must see the same responses.</summary>
    protected abstract IResponseStore CreateResponseStore(ITransport transport);

    /// <summary>Gets how long a message left unsettled by a consumer that went away may take to reach a survivor.</summary>
    protected virtual TimeSpan RedeliveryTimeout => TimeSpan.FromSeconds(10);

    /// <summary>Gets how long a test waits for work that should take milliseconds.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromSeconds(15);

    /// <summary>
    /// Gets how many duplicate deliveries the competing-consumers test accepts in a group whose membership was still
    /// changing when traffic started. Zero for a transport that hands each message to one member; a partitioned log that
    /// moves partitions between members replays what the old owner handled but had not committed (at-least-once).
    /// Nothing may be lost either way.
    /// </summary>
    protected virtual int DuplicatesWhileAGroupForms => 0;

    /// <summary>
    /// Waits, after a test created its consumers and before it sends, until the transport's consumer groups have formed.
    /// Nothing to wait for by default; a partitioned log whose members rebalance after joining overrides it.
    /// </summary>
    protected virtual Task GroupsFormedAsync() => Task.CompletedTask;

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (IMessageBus bus in _buses)
        {
            await bus.DisposeAsync();
        }

        foreach (ITransport transport in _transports.Distinct())
        {
            await transport.DisposeAsync();
        }
    }

    [Fact]
    public async Task Transport_DeclaresItsCapabilities()
    {
        ITransport transport = await TransportAsync();
        Assert.Equal(ExpectedCapabilities, transport.Capabilities);
        Assert.False(string.IsNullOrWhiteSpace(transport.Name));
    }

    [Fact]
    public async Task Publish_OnOneBus_IsHandledOnAnother()
    {
        string destination = Destination("orders");
        Ledger ledger = new();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e => ledger.Handled(e.Id)));

        for (int i = 0; i < 50; i++)
        {
            string id = $"o-{i}";
            await sender.PublishAsync(new CfOrderPlaced(id));
            ledger.Published(id);
        }

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task Event_ReachesEveryConsumerGroupOnce_WhileCompetingConsumersShareTheWork()
    {
        const int count = 200;
        string destination = Destination("shipped");
        Ledger billing = new();
        Ledger shipping = new();
        ConcurrentDictionary<int, int> perInstance = new();
        IMessageBus sender = await ServiceAsync("orders", b => b.RouteToTransport<CfOrderPlaced>(destination));
        for (int instance = 0; instance < 2; instance++)
        {
            int me = instance;
            await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(async (e, ct) =>
            {
                // A little real work, so that one instance cannot drain the stream before the other takes its share.
                await Task.Delay(2, ct);
                perInstance.AddOrUpdate(me, 1, static (_, n) => n + 1);
                billing.Handled(e.Id);
            }));
        }

        await ServiceAsync("shipping", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e => shipping.Handled(e.Id)));
        await GroupsFormedAsync();

        for (int i = 0; i < count; i++)
        {
            string id = $"p-{i}";
            await sender.PublishAsync(new CfOrderPlaced(id));
            billing.Published(id);
            shipping.Published(id);
        }

        await billing.WaitAllHandledAsync(Patience);
        await shipping.WaitAllHandledAsync(Patience);
        billing.AssertPassRule(DuplicatesWhileAGroupForms);
        shipping.AssertPassRule();
        Assert.True(perInstance.Count == 2, $"both billing instances took work: {string.Join(", ", perInstance)}");
    }

    [Fact]
    public async Task Ack_ComesOnlyAfterTheHandlerSucceeded_AndAFailureIsNeverAcked()
    {
        string destination = Destination("ack");
        ConcurrentQueue<string> log = new();
        ITransport inner = await TransportAsync();
        ITransport spy = new SpyTransport(inner, log);
        Ledger ledger = new();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", spy, b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(async (e, context, ct) =>
        {
            await Task.Delay(5, ct);
            if (e.Id == "fails-once" && context.Attempt == 1)
            {
                log.Enqueue("failed:" + context.MessageId);
                throw new InvalidOperationException("first attempt fails");
            }

            log.Enqueue("handled:" + context.MessageId);
            ledger.Handled(e.Id);
        }), storeOn: inner);

        foreach (string id in new[] { "a", "fails-once", "b" })
        {
            await sender.PublishAsync(new CfOrderPlaced(id));
            ledger.Published(id);
        }

        await ledger.WaitAllHandledAsync(Patience);
        await Eventually.TrueAsync(() => log.Count(l => l.StartsWith("ack:", StringComparison.Ordinal)) == 3, Patience, () => string.Join(" ", log));
        string[] entries = [.. log];
        foreach (string ack in entries.Where(l => l.StartsWith("ack:", StringComparison.Ordinal)))
        {
            string id = ack["ack:".Length..];
            int handled = Array.IndexOf(entries, "handled:" + id);
            Assert.True(handled >= 0 && handled < Array.IndexOf(entries, ack), $"ack of {id} before its handler succeeded: {string.Join(" ", entries)}");
        }

        string failed = entries.Single(l => l.StartsWith("failed:", StringComparison.Ordinal))["failed:".Length..];
        Assert.True(Array.IndexOf(entries, "retry:" + failed) > Array.IndexOf(entries, "failed:" + failed), "a failed attempt is retried, not acked");
        Assert.Equal(1, entries.Count(l => l == "ack:" + failed));
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task HandlerFailure_IsRetriedWithBackoff_ThenSucceeds()
    {
        string destination = Destination("retry");
        ConcurrentQueue<int> attempts = new();
        Ledger ledger = new();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>((e, context, ct) =>
        {
            attempts.Enqueue(context.Attempt);
            if (context.Attempt < 3)
            {
                throw new TimeoutException($"gateway timeout on attempt {context.Attempt}");
            }

            ledger.Handled(e.Id);
            return ValueTask.CompletedTask;
        }));

        await sender.PublishAsync(new CfOrderPlaced("r-1"));
        ledger.Published("r-1");

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
        Assert.Equal([1, 2, 3], attempts);
        Assert.Equal(0, await DeadLetters(destination, "billing").CountAsync());
    }

    [Fact]
    public async Task AlwaysFailingHandler_IsDeadLettered_WithTheExceptionTheAttemptsAndTheOriginalBody()
    {
        string destination = Destination("poison");
        int calls = 0;
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(_ =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("card declined");
        }));

        await sender.PublishAsync(new CfOrderPlaced("d-1"));

        IDeadLetterQueue dlq = DeadLetters(destination, "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Equal(3, Volatile.Read(ref calls));
        Assert.Equal(3, dead.Reason.Attempts);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Reason.ExceptionType);
        Assert.Contains("card declined", dead.Reason.Reason);
        Assert.Contains("card declined", dead.Reason.ExceptionDetails);
        Assert.Equal("billing", dead.ConsumerGroup);
        Assert.Contains("\"d-1\"", Encoding.UTF8.GetString(dead.Message.Body.Span));
        Assert.False(string.IsNullOrEmpty(dead.Message.MessageId));
        Assert.Contains(nameof(CfOrderPlaced), dead.Message.GetHeader(MessageHeaders.MessageType));
    }

    [Fact]
    public async Task DeadLetters_CanBeListedCountedReplayedAndDeleted_AndAReplayReachesOnlyTheFailingGroup()
    {
        string destination = Destination("dlq");
        int failing = 1;
        Ledger billing = new();
        Ledger audit = new();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e =>
        {
            if (Volatile.Read(ref failing) == 1)
            {
                throw new InvalidOperationException("billing is down");
            }

            billing.Handled(e.Id);
        }));
        IMessageBus auditBus = await ServiceAsync("audit", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e => audit.Handled(e.Id)));

        foreach (string id in new[] { "x-1", "x-2", "x-3", "x-4" })
        {
            await sender.PublishAsync(new CfOrderPlaced(id));
            billing.Published(id);
            audit.Published(id);
        }

        IDeadLetterQueue dlq = DeadLetters(destination, "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 4, Patience, () => $"dead letters {dlq.CountAsync().AsTask().Result}, audit handled {audit.HandledCount}");
        await audit.WaitAllHandledAsync(Patience);
        IReadOnlyList<DeadLetterMessage> listed = await dlq.ListAsync();
        Assert.Equal(4, listed.Count);
        Assert.Equal(2, (await dlq.ListAsync(count: 2)).Count);
        Assert.Equal(0, await DeadLetters(destination, "audit").CountAsync());

        Volatile.Write(ref failing, 0);
        Assert.True(await dlq.DeleteAsync(listed[3].Id));
        Assert.False(await dlq.DeleteAsync(listed[3].Id));
        billing.Handled(IdOf(listed[3])); // deleted for good: counted as settled by the operator, not lost by the transport
        Assert.True(await dlq.ReplayAsync(listed[0].Id));
        Assert.False(await dlq.ReplayAsync(listed[0].Id));
        // Dead letters are listed oldest first, whichever message that is.
        await Eventually.TrueAsync(() => billing.HandledCount == 2, Patience);
        Assert.Equal(2, await dlq.ReplayAllAsync());

        await billing.WaitAllHandledAsync(Patience);
        Assert.Equal(0, await dlq.CountAsync());
        billing.AssertPassRule();
        // The replay went to billing only: audit handled each message once. A replay sent to audit's group would be queued
        // there before this sentinel, so once audit handled the sentinel and settled everything it received, it would show.
        await sender.PublishAsync(new CfOrderPlaced("x-sentinel"));
        billing.Published("x-sentinel");
        audit.Published("x-sentinel");
        await audit.WaitAllHandledAsync(Patience);
        string system = (await TransportAsync()).Name;
        await Eventually.TrueAsync(
            () => auditBus.GetStatistics().Transports[system] is { } t && t.Acknowledged + t.Retried + t.DeadLettered >= t.Received,
            Patience,
            () => $"audit: {auditBus.GetStatistics().Transports[system]}");
        audit.AssertPassRule();
    }

    [Fact]
    public async Task MalformedBodyAndUnknownType_AreDeadLetteredWithTheReason_AndTheConsumerGoesOn()
    {
        string destination = Destination("malformed");
        Ledger ledger = new();
        ITransport transport = await TransportAsync();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e => ledger.Handled(e.Id)));

        await transport.SendAsync(Raw(destination, "Evil.Type, Evil.Assembly", "{}"), CancellationToken.None);
        await transport.SendAsync(Raw(destination, typeof(CfOrderPlaced).FullName!, "{ not json"), CancellationToken.None);
        await sender.PublishAsync(new CfOrderPlaced("good"));
        ledger.Published("good");

        await ledger.WaitAllHandledAsync(Patience);
        IDeadLetterQueue dlq = DeadLetters(destination, "billing");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 2, Patience);
        IReadOnlyList<DeadLetterMessage> dead = await dlq.ListAsync();
        Assert.Contains(dead, d => d.Reason.Reason.Contains("Evil.Type", StringComparison.Ordinal));
        Assert.All(dead, d => Assert.Equal(1, d.Reason.Attempts));
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task OversizeMessage_IsRefusedAtSend_AndOneReceivedIsDeadLettered()
    {
        string destination = Destination("big");
        Ledger ledger = new();
        ITransport transport = await TransportAsync();
        IMessageBus sender = await ServiceAsync("web", b => b.Configure(o => o.MaxMessageBytes = 1024).RouteToTransport<CfBlob>(destination));
        await ServiceAsync("archive", b => b.Configure(o => o.MaxMessageBytes = 1024).RouteToTransport<CfBlob>(destination).Handle<CfBlob>(e => ledger.Handled(e.Data[..8])));

        MessageTooLargeException ex = await Assert.ThrowsAsync<MessageTooLargeException>(async () => await sender.PublishAsync(new CfBlob(new string('x', 4096))));
        Assert.Contains("MaxMessageBytes", ex.Message);
        await transport.SendAsync(Raw(destination, typeof(CfBlob).FullName!, $"{{\"data\":\"{new string('y', 4096)}\"}}"), CancellationToken.None);
        await sender.PublishAsync(new CfBlob("small-01"));
        ledger.Published("small-01");

        await ledger.WaitAllHandledAsync(Patience);
        IDeadLetterQueue dlq = DeadLetters(destination, "archive");
        await Eventually.TrueAsync(() => dlq.CountAsync().AsTask().Result == 1, Patience);
        Assert.Contains("MaxMessageBytes", Assert.Single(await dlq.ListAsync()).Reason.Reason);
        ledger.AssertPassRule();
    }

    [Fact]
    public async Task Receiver_DisposedWithoutSettling_ItsMessageIsRedeliveredToASurvivor()
    {
        string destination = Destination("abandoned");
        ITransport first = await TransportAsync();
        ITransport second = await TransportAsync();
        ITransportReceiver dying = await first.CreateReceiverAsync(new ReceiverOptions(destination, "workers", "dying-" + _run), CancellationToken.None);
        ITransportReceiver survivor = await second.CreateReceiverAsync(new ReceiverOptions(destination, "workers", "survivor-" + _run), CancellationToken.None);
        TransportMessage sent = Raw(destination, typeof(CfOrderPlaced).FullName!, "{\"id\":\"a-1\"}");

        await first.SendAsync(sent, CancellationToken.None);
        using CancellationTokenSource receiving = new(Patience);
        ReceivedMessage taken = await dying.ReceiveAsync(receiving.Token);
        Assert.Equal(sent.MessageId, taken.Message.MessageId);
        Assert.Equal(1, taken.DeliveryCount);
        await dying.DisposeAsync();

        using CancellationTokenSource redelivery = new(RedeliveryTimeout);
        ReceivedMessage again = await survivor.ReceiveAsync(redelivery.Token);
        Assert.Equal(sent.MessageId, again.Message.MessageId);
        Assert.Equal(sent.Body.ToArray(), again.Message.Body.ToArray());
        Assert.True(again.DeliveryCount >= 2, $"delivery count {again.DeliveryCount}");
        await again.AckAsync(CancellationToken.None);
        await survivor.DisposeAsync();
    }

    [Fact]
    public async Task GracefulShutdown_FinishesInFlightWork_AndLosesNothing()
    {
        const int count = 40;
        string destination = Destination("shutdown");
        Ledger ledger = new();
        IMessageBus sender = await ServiceAsync("web", b => b.RouteToTransport<CfOrderPlaced>(destination));
        IMessageBus leaving = await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(async (e, ct) =>
        {
            await Task.Delay(20, CancellationToken.None);
            ledger.Handled(e.Id);
        }));

        for (int i = 0; i < count; i++)
        {
            string id = $"s-{i}";
            await sender.PublishAsync(new CfOrderPlaced(id));
            ledger.Published(id);
        }

        await Eventually.TrueAsync(() => ledger.HandledCount > 0, Patience);
        await leaving.ShutdownAsync(TimeSpan.FromSeconds(10));
        int handledByLeaving = ledger.HandledCount;

        // A new instance of the same service picks up what was not handled.
        await ServiceAsync("billing", b => b.RouteToTransport<CfOrderPlaced>(destination).Handle<CfOrderPlaced>(e => ledger.Handled(e.Id)));
        await ledger.WaitAllHandledAsync(RedeliveryTimeout + Patience);
        ledger.AssertPassRule();
        Assert.True(handledByLeaving > 0);
    }

    [Fact]
    public async Task Request_OnOneBus_IsAnsweredByAnotherThroughTheResponseStore()
    {
        string destination = Destination("quotes");
        IMessageBus client = await ServiceAsync("web", b => b.RouteToTransport<CfQuote>(destination));
        await ServiceAsync("pricing", b => b.RouteToTransport<CfQuote>(destination).Handle<CfQuote, CfQuoted>(q => new CfQuoted(q.Sku, 1250)));

        for (int i = 0; i < 5; i++)
        {
            CfQuoted quote = await client.RequestAsync(new CfQuote($"sku-{i}"), new RequestOptions { Timeout = Patience });
            Assert.Equal(new CfQuoted($"sku-{i}", 1250), quote);
        }

        Assert.Equal(0, client.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task Request_WhoseHandlerAlwaysFails_ThrowsHandlerFailedExceptionOnTheOtherBus()
    {
        string destination = Destination("quotes-failing");
        IMessageBus client = await ServiceAsync("web", b => b.RouteToTransport<CfQuote>(destination));
        await ServiceAsync("pricing", b => b.RouteToTransport<CfQuote>(destination).Handle<CfQuote, CfQuoted>(_ => throw new InvalidOperationException("no price list")));

        HandlerFailedException ex = await Assert.ThrowsAsync<HandlerFailedException>(
            async () => await client.RequestAsync(new CfQuote("sku-1"), new RequestOptions { Timeout = Patience }));

        Assert.Contains("no price list", ex.Message);
        Assert.Equal(1, await DeadLetters(destination, "pricing").CountAsync());
    }

    [Fact]
    public async Task OrderingByKey_EveryKeysMessagesAreHandledInOrder_EvenWhenOneIsRetried()
    {
        if (!ExpectedCapabilities.HasFlag(TransportCapabilities.OrderingByKey))
        {
            return; // the transport does not promise per-key order
        }

        const int keys = 4;
        const int perKey = 25;
        string destination = Destination("ordered");
        ConcurrentDictionary<string, List<int>> seen = new();
        Ledger ledger = new();
        IMessageBus sender = await ServiceAsync("ledger-writer", b => b.RouteToTransport<CfAccountChanged>(destination));
        await ServiceAsync("ledger", b => b.Configure(o => o.ConsumerConcurrency = 4).RouteToTransport<CfAccountChanged>(destination).Handle<CfAccountChanged>(async (e, context, ct) =>
        {
            // The fifth message of account-1 fails twice: the later messages of account-1 must wait for it, while the
            // other accounts go on.
            if (e.Account == "account-1" && e.Sequence == 5 && context.Attempt < 3)
            {
                throw new InvalidOperationException("transient");
            }

            await Task.Delay(1, ct);
            List<int> list = seen.GetOrAdd(e.Account, _ => []);
            lock (list)
            {
                list.Add(e.Sequence);
            }

            ledger.Handled($"{e.Account}/{e.Sequence}");
        }));

        for (int i = 0; i < perKey; i++)
        {
            for (int k = 0; k < keys; k++)
            {
                CfAccountChanged change = new($"account-{k}", i) { AggregateId = $"account-{k}", AggregateType = "Account" };
                await sender.PublishAsync(change);
                ledger.Published($"{change.Account}/{i}");
            }
        }

        await ledger.WaitAllHandledAsync(Patience);
        ledger.AssertPassRule();
        foreach ((string account, List<int> order) in seen)
        {
            Assert.True(order.SequenceEqual(Enumerable.Range(0, perKey)), $"{account} handled out of order: {string.Join(",", order)}");
        }
    }

    private static string IdOf(DeadLetterMessage dead)
        => System.Text.Json.JsonDocument.Parse(dead.Message.Body).RootElement.GetProperty("id").GetString()!;

    /// <summary>A destination name unique to this test run.</summary>
    protected string Destination(string name) => $"cf-{name}-{_run}";

    protected async Task<ITransport> TransportAsync()
    {
        ITransport transport = await CreateTransportAsync();
        _transports.Add(transport);
        return transport;
    }

    protected IDeadLetterQueue DeadLetters(string destination, string group) => _transports[0].GetDeadLetterQueue(destination, group);

    protected async Task<IMessageBus> ServiceAsync(string name, Action<BusBuilder> configure)
        => await ServiceAsync(name, await TransportAsync(), configure);

    protected async Task<IMessageBus> ServiceAsync(string name, ITransport transport, Action<BusBuilder> configure, ITransport? storeOn = null)
    {
        if (_transports.Count == 0)
        {
            _transports.Add(transport);
        }

        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.Options.Retry.MaxAttempts = 3;
            b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            b.Options.Retry.Jitter = false;
            b.UseTransport(transport).UseResponseStore(CreateResponseStore(storeOn ?? transport));
            configure(b);
        });
        _buses.Add(bus);
        // Consumers start in the background; wait, so that a test's first publish finds every group in place.
        await ((SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        return bus;
    }

    protected static TransportMessage Raw(string destination, string? type, string body)
    {
        Dictionary<string, string> headers = new(StringComparer.Ordinal)
        {
            [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N"),
            [MessageHeaders.ContentType] = "application/json",
        };
        if (type is not null)
        {
            headers[MessageHeaders.MessageType] = type;
        }

        return new TransportMessage { Destination = destination, Headers = headers, Body = Encoding.UTF8.GetBytes(body) };
    }
}
