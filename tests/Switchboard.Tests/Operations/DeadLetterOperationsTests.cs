using System.Text;
using Switchboard.Operations;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Operations;

/// <summary>The operations API over a queue that has only the common members (the generic fallback), on the in-memory transport.</summary>
public sealed class DeadLetterOperationsTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly SteppingClock _clock = new();
    private InMemoryTransport _transport = null!;
    private ITransportReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _transport = new InMemoryTransport(_clock);
        _receiver = await _transport.CreateReceiverAsync(new ReceiverOptions("orders", "billing", "c1"), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _transport.DisposeAsync();
    }

    private IDeadLetterQueue Queue => _transport.GetDeadLetterQueue("orders", "billing");

    /// <summary>Dead-letters one message per spec, one minute apart (the clock steps), oldest first.</summary>
    private async Task DeadLetterAsync(params (string Id, string Type, Exception Error)[] specs)
    {
        foreach ((string id, string type, Exception error) in specs)
        {
            await _transport.SendAsync(
                new TransportMessage
                {
                    Destination = "orders",
                    Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = id, [MessageHeaders.MessageType] = type },
                    Body = Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\"}}"),
                },
                CancellationToken.None);
            using CancellationTokenSource cts = new(Patience);
            ReceivedMessage received = await _receiver.ReceiveAsync(cts.Token);
            _clock.Advance(TimeSpan.FromMinutes(1));
            await received.DeadLetterAsync(DeadLetterReason.FromException(error, 3), CancellationToken.None);
        }
    }

    private async Task<List<string>> DrainReplayedAsync(int expected)
    {
        List<string> ids = [];
        for (int i = 0; i < expected; i++)
        {
            using CancellationTokenSource cts = new(Patience);
            ReceivedMessage received = await _receiver.ReceiveAsync(cts.Token);
            ids.Add(received.Message.MessageId);
            await received.AckAsync(CancellationToken.None);
        }

        using CancellationTokenSource none = new(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await _receiver.ReceiveAsync(none.Token));
        return ids;
    }

    private static (string, string, Exception)[] Mixed(int count)
        => [.. Enumerable.Range(1, count).Select(i => ($"m{i}", i % 2 == 0 ? "OrderPlaced" : "OrderShipped", i % 3 == 0 ? new TimeoutException($"carrier slow {i}") : (Exception)new InvalidOperationException($"card declined {i}")))];

    [Fact]
    public async Task Browse_WithoutFilters_PagesThroughEveryDeadLetterOnce_OldestFirst()
    {
        await DeadLetterAsync(Mixed(7));
        List<string> seen = [];
        DeadLetterQuery query = new() { PageSize = 3 };
        int pages = 0;
        while (true)
        {
            DeadLetterPage page = await Queue.BrowseAsync(query);
            pages++;
            Assert.Equal(7, page.Total);
            seen.AddRange(page.Items.Select(m => m.Message.MessageId));
            if (page.NextCursor is null)
            {
                break;
            }

            query = query with { Cursor = page.NextCursor };
        }

        Assert.Equal(3, pages);
        Assert.Equal(["m1", "m2", "m3", "m4", "m5", "m6", "m7"], seen);
    }

    [Fact]
    public async Task Browse_FiltersByMessageType_ExceptionType_Text_AndTimeRange()
    {
        DateTimeOffset start = _clock.GetUtcNow();
        await DeadLetterAsync(Mixed(6));

        async Task<string[]> Ids(DeadLetterQuery query) => [.. (await Queue.BrowseAsync(query)).Items.Select(m => m.Message.MessageId)];

        Assert.Equal(["m2", "m4", "m6"], await Ids(new DeadLetterQuery { MessageType = "orderplaced" }));
        Assert.Equal(["m3", "m6"], await Ids(new DeadLetterQuery { ExceptionType = "Timeout" }));
        Assert.Equal(["m5"], await Ids(new DeadLetterQuery { Text = "DECLINED 5" }));
        Assert.Equal(["m6"], await Ids(new DeadLetterQuery { MessageType = "OrderPlaced", ExceptionType = "TimeoutException" }));
        // m1 was dead-lettered at start + 1 min, m2 at + 2 min, ...: [+2, +4) holds m2 and m3.
        Assert.Equal(["m2", "m3"], await Ids(new DeadLetterQuery { From = start.AddMinutes(2), To = start.AddMinutes(4) }));
        Assert.Empty(await Ids(new DeadLetterQuery { MessageType = "Nope" }));
    }

    [Fact]
    public async Task Browse_RefusesACursorItDidNotIssue_AndBadPaging()
    {
        await DeadLetterAsync(Mixed(1));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Queue.BrowseAsync(new DeadLetterQuery { Cursor = "not-a-cursor" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Queue.BrowseAsync(new DeadLetterQuery { PageSize = 0 }));
    }

    [Fact]
    public async Task Find_ReturnsTheDeadLetterWithItsDetails_OrNullWhenGone()
    {
        await DeadLetterAsync(Mixed(3));
        DeadLetterMessage second = (await Queue.ListAsync())[1];

        DeadLetterMessage? found = await Queue.FindAsync(second.Id);

        Assert.NotNull(found);
        Assert.Equal("m2", found.Message.MessageId);
        Assert.Contains("card declined 2", found.Reason.ExceptionDetails, StringComparison.Ordinal);
        await Queue.DeleteAsync(second.Id);
        Assert.Null(await Queue.FindAsync(second.Id));
    }

    [Fact]
    public async Task ReplayMatching_ReplaysOnlyTheMatchingOnes_ReportsProgress_AndTheCountDrops()
    {
        await DeadLetterAsync(Mixed(6));
        List<DeadLetterProgress> reports = [];

        DeadLetterBulkResult result = await Queue.ReplayMatchingAsync(new DeadLetterQuery { ExceptionType = "Timeout" }, new SyncProgress<DeadLetterProgress>(reports.Add));

        Assert.Equal(new DeadLetterBulkResult(2, 2, 0, Cancelled: false), result);
        Assert.Equal([new DeadLetterProgress(2, 1, 1), new DeadLetterProgress(2, 2, 2)], reports);
        Assert.Equal(4, await Queue.CountAsync());
        Assert.Equal(["m3", "m6"], await DrainReplayedAsync(2));
    }

    [Fact]
    public async Task ReplayMany_Interrupted_LeavesEachMessageEitherReplayedOnceOrStillDead()
    {
        await DeadLetterAsync(Mixed(5));
        string[] ids = [.. (await Queue.ListAsync()).Select(m => m.Id)];
        using CancellationTokenSource cts = new();
        SyncProgress<DeadLetterProgress> progress = new(p =>
        {
            if (p.Done == 2)
            {
                cts.Cancel();
            }
        });

        DeadLetterBulkResult result = await Queue.ReplayManyAsync(ids, progress, cts.Token);

        Assert.True(result.Cancelled);
        Assert.Equal(2, result.Succeeded);
        Assert.Equal(3, await Queue.CountAsync());
        Assert.Equal(["m1", "m2"], await DrainReplayedAsync(2));

        // Running the same request again finishes the job: the two already replayed are missing, not replayed twice.
        DeadLetterBulkResult rest = await Queue.ReplayManyAsync(ids);
        Assert.Equal(new DeadLetterBulkResult(5, 3, 2, Cancelled: false), rest);
        Assert.Equal(["m3", "m4", "m5"], await DrainReplayedAsync(3));
        Assert.Equal(0, await Queue.CountAsync());
    }

    [Fact]
    public async Task DeleteMany_CountsIdsThatAreGoneAsMissing_AndIgnoresDuplicates()
    {
        await DeadLetterAsync(Mixed(3));
        string[] ids = [.. (await Queue.ListAsync()).Select(m => m.Id)];

        DeadLetterBulkResult result = await Queue.DeleteManyAsync([ids[0], ids[0], ids[2], "no-such-id"]);

        Assert.Equal(new DeadLetterBulkResult(3, 2, 1, Cancelled: false), result);
        Assert.Equal(["m2"], (await Queue.ListAsync()).Select(m => m.Message.MessageId));
        await DrainReplayedAsync(0);
    }

    [Fact]
    public async Task DeleteMatching_WithoutFilter_EmptiesTheQueue()
    {
        await DeadLetterAsync(Mixed(4));
        DeadLetterBulkResult result = await Queue.DeleteMatchingAsync(new DeadLetterQuery());
        Assert.Equal(new DeadLetterBulkResult(4, 4, 0, Cancelled: false), result);
        Assert.Equal(0, await Queue.CountAsync());
    }

    [Fact]
    public async Task View_ShowsHeadersAndTheBodyAsIndentedJson_AndTheSummaryLeavesThemOut()
    {
        await DeadLetterAsync(Mixed(1));
        DeadLetterMessage dead = Assert.Single(await Queue.ListAsync());
        OperationsSource source = OperationsSource.ForTransport(_transport, "orders", "billing");

        DeadLetterView details = DeadLetterView.Create(source, dead, details: true);
        DeadLetterView summary = DeadLetterView.Create(source, dead, details: false);

        Assert.Equal("inmemory/orders/billing", details.Source);
        Assert.Equal("m1", details.MessageId);
        Assert.Equal("OrderShipped", details.MessageType);
        Assert.Equal("json", details.BodyFormat);
        Assert.Equal("{\n  \"id\": \"m1\"\n}", details.Body!.ReplaceLineEndings("\n"));
        Assert.Equal("m1", details.Headers![MessageHeaders.MessageId]);
        Assert.Contains("card declined 1", details.ExceptionDetails, StringComparison.Ordinal);
        Assert.Null(summary.Body);
        Assert.Null(summary.Headers);
        Assert.Null(summary.ExceptionDetails);
        Assert.Equal(details.Reason, summary.Reason);
    }

    [Theory]
    [InlineData(new byte[] { 0x68, 0x69 }, "hi", "text")]
    [InlineData(new byte[] { 0xff, 0xfe, 0x00 }, "//4A", "base64")]
    [InlineData(new byte[0], "", "text")]
    public void FormatBody_FallsBackFromJsonToTextToBase64(byte[] body, string text, string format)
        => Assert.Equal((text, format), DeadLetterView.FormatBody(body));

    internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private sealed class SteppingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
