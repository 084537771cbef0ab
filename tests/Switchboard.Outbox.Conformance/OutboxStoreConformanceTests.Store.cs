using System.Text;
using Switchboard.Transport;

namespace Switchboard.Outbox.Conformance;

public abstract partial class OutboxStoreConformanceTests
{
    [Fact]
    public async Task Schema_EnsuredTwice_IsFine_AndReportsTheVersion()
    {
        IOutboxStore store = await StoreAsync(ensureSchema: false);
        await store.EnsureSchemaAsync();
        await store.EnsureSchemaAsync();
        Assert.Equal(OutboxSchema.Version, await ReadSchemaVersionAsync(store));
        Assert.False(string.IsNullOrWhiteSpace(store.Name));
        Assert.Equal(new OutboxCounts(0, 0, null), await store.CountAsync());
    }

    [Fact]
    public async Task Schema_EnsuredConcurrently_IsFine()
    {
        IOutboxStore store = await StoreAsync(ensureSchema: false);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.EnsureSchemaAsync().AsTask()));
        Assert.Equal(OutboxSchema.Version, await ReadSchemaVersionAsync(store));
    }

    [Fact]
    public async Task Add_ThenClaim_ReturnsTheMessageAsWritten()
    {
        IOutboxStore store = await StoreAsync();
        Dictionary<string, string> headers = new(StringComparer.Ordinal) { ["ce-id"] = "m-1", ["ce-type"] = "oc.test", ["x-üñí"] = "välue \"quoted\"" };
        byte[] body = [0, 1, 2, 255, 128, 10, 13];
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await AddRowsAsync(store, new TransportMessage { Destination = "orders", Headers = headers, Body = body, PartitionKey = "k-1" });

        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)));
        OutboxMessage row = Assert.Single(rows);
        Assert.Equal("orders", row.Message.Destination);
        Assert.Equal("k-1", row.Message.PartitionKey);
        Assert.Equal(body, row.Message.Body.ToArray());
        Assert.Equal(headers.OrderBy(h => h.Key), row.Message.Headers.OrderBy(h => h.Key));
        Assert.Equal(0, row.Attempts);
        Assert.Null(row.LastError);
        Assert.Null(row.DeadReason);
        Assert.InRange(row.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task Add_RolledBack_LeavesNothing()
    {
        IOutboxStore store = await StoreAsync();
        await InTransactionAsync(store, async tx => await store.AddAsync(tx, [Raw("orders", "oc.test", "{}")]), businessId: "b-1", commit: false);

        DateTimeOffset now = DateTimeOffset.UtcNow;
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));
        Assert.Equal(0, (await store.CountAsync()).Pending);
        Assert.False(await BusinessRowExistsAsync(store, "b-1"));
    }

    [Fact]
    public async Task Add_IsInvisibleUntilCommit()
    {
        IOutboxStore store = await StoreAsync();
        await InTransactionAsync(store, async tx =>
        {
            await store.AddAsync(tx, [Raw("orders", "oc.test", "{}")]);
            // Another connection must not see the uncommitted row (a read: it must not wait for the writer either).
            Assert.Equal(0, (await store.CountAsync()).Pending);
        });

        DateTimeOffset later = DateTimeOffset.UtcNow;
        Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, later, later.AddSeconds(30))));
    }

    [Fact]
    public async Task Claim_ReturnsRowsInIdOrder_UpToTheBatchSize()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, [.. Enumerable.Range(0, 10).Select(i => Raw("orders", "oc.test", $"{{\"n\":{i}}}", partitionKey: i % 2 == 0 ? null : $"k-{i}"))]);
        await AddRowsAsync(store, Raw("orders", "oc.test", "{\"n\":10}"));

        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> first = await store.ClaimAsync(new OutboxClaim("a", 4, now, now.AddSeconds(30)));
        IReadOnlyList<OutboxMessage> rest = await store.ClaimAsync(new OutboxClaim("b", 100, now, now.AddSeconds(30)));
        Assert.Equal(4, first.Count);
        Assert.Equal(7, rest.Count);
        long[] ids = [.. first.Concat(rest).Select(r => r.Id)];
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"{{\"n\":{i}}}"), first.Concat(rest).Select(r => Encoding.UTF8.GetString(r.Message.Body.Span)));
    }

    [Fact]
    public async Task Claim_Leases_ASecondClaimerGetsTheRowOnlyAfterTheLeaseEnds()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "{}"));
        DateTimeOffset now = DateTimeOffset.UtcNow;

        OutboxMessage claimed = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(10))));
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddSeconds(1), now.AddSeconds(11))));
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddSeconds(9), now.AddSeconds(19))));

        OutboxMessage again = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddSeconds(11), now.AddSeconds(21))));
        Assert.Equal(claimed.Id, again.Id);
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("a", 10, now.AddSeconds(12), now.AddSeconds(22))));
    }

    [Fact]
    public async Task Claim_ConcurrentClaimers_NeverGetTheSameRow()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, [.. Enumerable.Range(0, 200).Select(i => Raw("orders", "oc.test", $"{{\"n\":{i}}}"))]);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        IReadOnlyList<OutboxMessage>[] claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(async c =>
        {
            List<OutboxMessage> mine = [];
            while (true)
            {
                IReadOnlyList<OutboxMessage> batch = await store.ClaimAsync(new OutboxClaim($"c-{c}", 7, now, now.AddSeconds(60)));
                if (batch.Count == 0)
                {
                    return (IReadOnlyList<OutboxMessage>)mine;
                }

                mine.AddRange(batch);
            }
        }));

        long[] ids = [.. claims.SelectMany(c => c).Select(r => r.Id)];
        Assert.Equal(200, ids.Length);
        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public async Task Claim_HoldsBackLaterRowsOfAKey_WhileAnEarlierOneIsLeasedOrWaitingForARetry()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "1", partitionKey: "k"), Raw("orders", "oc.test", "2", partitionKey: "k"), Raw("orders", "oc.test", "3", partitionKey: "other"));
        DateTimeOffset now = DateTimeOffset.UtcNow;

        OutboxMessage first = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 1, now, now.AddSeconds(10))));
        Assert.Equal("1", Body(first));

        // Row 2 waits behind row 1 (leased): the next claimer gets row 3 only.
        OutboxMessage third = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now, now.AddSeconds(10))));
        Assert.Equal("3", Body(third));

        // Row 1 failed and waits for its retry: row 2 still waits (row 3's lease ended at +10 s: it alone is due again).
        await store.ReleaseAsync(first.Id, "boom", now.AddSeconds(20));
        Assert.Equal(["3"], (await store.ClaimAsync(new OutboxClaim("c", 10, now.AddSeconds(11), now.AddSeconds(12)))).Select(Body));

        // The retry time came: row 1 then row 2, in order, in one claim (row 3's lease ended too).
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("c", 10, now.AddSeconds(21), now.AddSeconds(31)));
        Assert.Equal(["1", "2", "3"], rows.Select(Body));
        Assert.Equal(1, rows[0].Attempts);
    }

    [Fact]
    public async Task Claim_DoesNotHoldBackAKey_BehindADispatchedOrDeadRow()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "1", partitionKey: "k"), Raw("orders", "oc.test", "2", partitionKey: "k"), Raw("orders", "oc.test", "3", partitionKey: "k"));
        DateTimeOffset now = DateTimeOffset.UtcNow;

        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 2, now, now.AddSeconds(10)));
        Assert.Equal(["1", "2"], rows.Select(Body));
        await store.MarkDispatchedAsync([rows[0].Id], now);
        await store.MarkDeadAsync(rows[1].Id, new DeadLetterReason("bad", null, null, 1), now);

        OutboxMessage last = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now, now.AddSeconds(10))));
        Assert.Equal("3", Body(last));
    }

    [Fact]
    public async Task MarkDispatched_RowsAreNeverClaimedAgain()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "1"), Raw("orders", "oc.test", "2"), Raw("orders", "oc.test", "3"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(1)));
        await store.MarkDispatchedAsync([rows[0].Id, rows[2].Id], now);

        OutboxMessage left = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddSeconds(2), now.AddSeconds(3))));
        Assert.Equal(rows[1].Id, left.Id);
        Assert.Equal(1, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task Claim_WithThePreviousBatchDispatched_MarksItFirst_AndFreesTheRestOfItsKey()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "1", "k"), Raw("orders", "oc.test", "2", "k"), Raw("orders", "oc.test", "3"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> first = await store.ClaimAsync(new OutboxClaim("a", 1, now, now.AddSeconds(30)));
        Assert.Equal("1", Encoding.UTF8.GetString(Assert.Single(first).Message.Body.Span));

        // The second row of key k is free only once the first is marked: the claim marks it in its own transaction first.
        IReadOnlyList<OutboxMessage> second = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)) { Dispatched = [first[0].Id] });
        Assert.Equal(["2", "3"], second.Select(r => Encoding.UTF8.GetString(r.Message.Body.Span)));
        Assert.Equal(2, (await store.CountAsync()).Pending);

        // Marks with an empty claim still count; a row marked twice stays dispatched.
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)) { Dispatched = [second[0].Id, second[1].Id, first[0].Id] }));
        Assert.Equal(0, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task Release_WithFailure_CountsTheAttempt_KeepsTheError_AndWaitsUntilNotBefore()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "{}"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        OutboxMessage row = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));

        await store.ReleaseAsync(row.Id, "first failure", now.AddSeconds(5));
        Assert.Empty(await store.ClaimAsync(new OutboxClaim("a", 10, now.AddSeconds(4), now.AddSeconds(34))));
        row = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now.AddSeconds(5), now.AddSeconds(35))));
        Assert.Equal(1, row.Attempts);
        Assert.Equal("first failure", row.LastError);

        await store.ReleaseAsync(row.Id, "second failure", notBefore: null);
        row = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now.AddSeconds(6), now.AddSeconds(36))));
        Assert.Equal(2, row.Attempts);
        Assert.Equal("second failure", row.LastError);

        // A release without a failure (the row was not attempted) ends the lease and counts nothing.
        await store.ReleaseAsync(row.Id, failure: null, notBefore: null);
        row = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddSeconds(7), now.AddSeconds(37))));
        Assert.Equal(2, row.Attempts);
    }

    [Fact]
    public async Task MarkDead_ParksTheRow_ListDeadShowsTheReason_ReviveMakesItPendingWithNoAttempts()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "1"), Raw("orders", "oc.test", "2"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)));
        await store.ReleaseAsync(rows[0].Id, "boom", null);
        rows = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)));
        Assert.Single(rows);

        DateTimeOffset deadAt = now.AddSeconds(1);
        await store.MarkDeadAsync(rows[0].Id, new DeadLetterReason("it failed", "System.InvalidOperationException", "details\nline 2", 2), deadAt);
        // The dead row is never claimed; row 2's lease (30 s) ended, so it alone comes back.
        Assert.Equal(["2"], (await store.ClaimAsync(new OutboxClaim("b", 10, now.AddMinutes(10), now.AddMinutes(11)))).Select(Body));
        Assert.Equal(1, (await store.CountAsync()).Dead);

        OutboxMessage dead = Assert.Single(await store.ListDeadAsync(10));
        Assert.Equal(rows[0].Id, dead.Id);
        Assert.Equal("1", Body(dead));
        Assert.Equal(new DeadLetterReason("it failed", "System.InvalidOperationException", "details\nline 2", 2), dead.DeadReason);
        Assert.NotNull(dead.DeadAt);
        Assert.True((dead.DeadAt!.Value - deadAt).Duration() < TimeSpan.FromMilliseconds(2), $"{dead.DeadAt} vs {deadAt}");

        Assert.Equal(1, await store.ReviveDeadAsync(dead.Id));
        Assert.Empty(await store.ListDeadAsync(10));
        OutboxMessage revived = Assert.Single(await store.ClaimAsync(new OutboxClaim("b", 10, now.AddMinutes(10), now.AddMinutes(11))));
        Assert.Equal(dead.Id, revived.Id);
        Assert.Equal(0, revived.Attempts);
        Assert.Null(revived.DeadReason);
        Assert.Equal(0, await store.ReviveDeadAsync(dead.Id));
    }

    [Fact]
    public async Task ListDead_OldestFirst_UpToCount_ReviveAll_AndDeleteDead()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, [.. Enumerable.Range(0, 5).Select(i => Raw("orders", "oc.test", $"{i}"))]);
        await AddRowsAsync(store, Raw("orders", "oc.test", "pending"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 5, now, now.AddSeconds(30)));
        foreach (OutboxMessage row in rows)
        {
            await store.MarkDeadAsync(row.Id, new DeadLetterReason($"r{Body(row)}", null, null, 1), now);
        }

        Assert.Equal(["0", "1", "2"], (await store.ListDeadAsync(3)).Select(Body));
        Assert.Equal(5, (await store.ListDeadAsync(100)).Count);

        Assert.True(await store.DeleteDeadAsync(rows[0].Id));
        Assert.False(await store.DeleteDeadAsync(rows[0].Id));
        Assert.Equal(4, (await store.CountAsync()).Dead);

        // Only dead rows are deleted this way.
        OutboxMessage pending = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));
        Assert.False(await store.DeleteDeadAsync(pending.Id));

        Assert.Equal(4, await store.ReviveDeadAsync(null));
        OutboxCounts counts = await store.CountAsync();
        Assert.Equal(0, counts.Dead);
        Assert.Equal(5, counts.Pending);
    }

    [Fact]
    public async Task Count_CountsPendingAndDead_AndFindsTheOldestPending()
    {
        IOutboxStore store = await StoreAsync();
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await AddRowsAsync(store, Raw("orders", "oc.test", "1"), Raw("orders", "oc.test", "2"), Raw("orders", "oc.test", "3"), Raw("orders", "oc.test", "4"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 2, now, now.AddSeconds(30)));
        await store.MarkDispatchedAsync([rows[0].Id], now);
        await store.MarkDeadAsync(rows[1].Id, new DeadLetterReason("bad", null, null, 1), now);

        OutboxCounts counts = await store.CountAsync();
        Assert.Equal(2, counts.Pending);
        Assert.Equal(1, counts.Dead);
        Assert.NotNull(counts.OldestPendingAt);
        Assert.InRange(counts.OldestPendingAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task DeleteExpired_DeletesOnlyOldDispatchedRows_AndOldInboxRecords()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, Raw("orders", "oc.test", "old-1"), Raw("orders", "oc.test", "old-2"), Raw("orders", "oc.test", "new"), Raw("orders", "oc.test", "pending"), Raw("orders", "oc.test", "dead"));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 5, now, now.AddSeconds(30)));
        await store.MarkDispatchedAsync([rows[0].Id, rows[1].Id], now.AddHours(-2));
        await store.MarkDispatchedAsync([rows[2].Id], now);
        await store.ReleaseAsync(rows[3].Id, null, null);
        await store.MarkDeadAsync(rows[4].Id, new DeadLetterReason("bad", null, null, 1), now.AddDays(-30));

        await InTransactionAsync(store, async tx =>
        {
            Assert.True(await store.TryRecordProcessedAsync(tx, "svc", "old", now.AddDays(-8)));
            Assert.True(await store.TryRecordProcessedAsync(tx, "svc", "new", now));
        });

        Assert.Equal(3, await store.DeleteExpiredAsync(now.AddHours(-1), now.AddDays(-7)));
        Assert.Equal(0, await store.DeleteExpiredAsync(now.AddHours(-1), now.AddDays(-7)));

        OutboxCounts counts = await store.CountAsync();
        Assert.Equal(1, counts.Pending);
        Assert.Equal(1, counts.Dead);
        Assert.Equal("dead", Body(Assert.Single(await store.ListDeadAsync(10))));
        await InTransactionAsync(store, async tx =>
        {
            Assert.True(await store.TryRecordProcessedAsync(tx, "svc", "old", now), "the old record was deleted");
            Assert.False(await store.TryRecordProcessedAsync(tx, "svc", "new", now), "the new record was kept");
        });
    }

    [Fact]
    public async Task DeleteExpired_ManyRows_DeletesThemAll()
    {
        IOutboxStore store = await StoreAsync();
        await AddRowsAsync(store, [.. Enumerable.Range(0, 2_500).Select(i => Raw("orders", "oc.test", $"{i}"))]);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 2_500, now, now.AddSeconds(30)));
        Assert.Equal(2_500, rows.Count);
        await store.MarkDispatchedAsync([.. rows.Select(r => r.Id)], now.AddHours(-2));

        Assert.Equal(2_500, await store.DeleteExpiredAsync(now.AddHours(-1), now.AddDays(-7)));
    }

    [Fact]
    public async Task Inbox_RecordTwice_TrueThenFalse_PerConsumer()
    {
        IOutboxStore store = await StoreAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await InTransactionAsync(store, async tx => Assert.True(await store.TryRecordProcessedAsync(tx, "billing", "m-1", now)));
        await InTransactionAsync(store, async tx => Assert.False(await store.TryRecordProcessedAsync(tx, "billing", "m-1", now)));
        await InTransactionAsync(store, async tx => Assert.True(await store.TryRecordProcessedAsync(tx, "shipping", "m-1", now)));
        await InTransactionAsync(store, async tx => Assert.True(await store.TryRecordProcessedAsync(tx, "billing", "m-2", now)));
    }

    [Fact]
    public async Task Inbox_RecordRolledBack_IsForgotten()
    {
        IOutboxStore store = await StoreAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await InTransactionAsync(store, async tx => Assert.True(await store.TryRecordProcessedAsync(tx, "billing", "m-1", now)), commit: false);
        await InTransactionAsync(store, async tx => Assert.True(await store.TryRecordProcessedAsync(tx, "billing", "m-1", now)));
    }

    [Fact]
    public async Task Listen_IsDisposable_AndASpuriousCallIsHarmless()
    {
        IOutboxStore store = await StoreAsync();
        int calls = 0;
        IAsyncDisposable listener = await store.ListenAsync(() => Interlocked.Increment(ref calls));
        await AddRowsAsync(store, Raw("orders", "oc.test", "{}"));
        await Waiting.UntilAsync(() => Volatile.Read(ref calls) > 0, Patience, () => "the listener was not called after a commit");
        await listener.DisposeAsync();
    }

    protected static string Body(OutboxMessage row) => Encoding.UTF8.GetString(row.Message.Body.Span);
}
