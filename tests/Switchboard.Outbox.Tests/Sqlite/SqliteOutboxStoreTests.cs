using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox.Conformance;
using Switchboard.Sqlite;
using Switchboard.Transport;

namespace Switchboard.Outbox.Tests.Sqlite;

/// <summary>What only SQLite has: the transaction's type and database, pragmas, one writer at a time, the commit hook.</summary>
public sealed class SqliteOutboxStoreTests : IAsyncLifetime
{
    private readonly TemporaryDatabase _database = new();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _database.Dispose();
    }

    [Fact]
    public async Task Add_WithATransactionOfAnotherProvider_ThrowsAClearArgumentException()
    {
        SqliteOutboxStore store = await StoreAsync();

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AddAsync(new ForeignTransaction(), [Message("x")]));

        Assert.Equal("transaction", error.ParamName);
        Assert.Contains("SqliteTransaction", error.Message, StringComparison.Ordinal);
        Assert.Contains(typeof(ForeignTransaction).FullName!, error.Message, StringComparison.Ordinal);
        ArgumentException inbox = await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryRecordProcessedAsync(new ForeignTransaction(), "svc", "m", DateTimeOffset.UtcNow));
        Assert.Contains("SqliteTransaction", inbox.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_WithATransactionOnAnotherDatabase_ThrowsAClearArgumentException()
    {
        SqliteOutboxStore store = await StoreAsync();
        using TemporaryDatabase other = new();
        await using SqliteConnection connection = new(other.ConnectionString);
        await connection.OpenAsync();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AddAsync(transaction, [Message("x")]));

        Assert.Contains(other.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains(_database.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_WithACompletedTransaction_ThrowsAClearArgumentException()
    {
        SqliteOutboxStore store = await StoreAsync();
        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        SqliteTransaction transaction = connection.BeginTransaction();
        transaction.Commit();

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AddAsync(transaction, [Message("x")]));
        Assert.Contains("already committed or rolled back", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_OnTheApplicationsOwnConnection_ByARelativePath_IsAccepted()
    {
        SqliteOutboxStore store = await StoreAsync();
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, _database.Path);
        await using SqliteConnection connection = new($"Data Source={relative}");
        await connection.OpenAsync();
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            await store.AddAsync(transaction, [Message("mine")]);
            transaction.Commit();
        }

        Assert.Equal(1, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task Connections_RunInWalMode_WithBusyTimeoutAndSynchronousFull()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.BusyTimeout = TimeSpan.FromSeconds(7));
        await using DbConnection connection = await store.OpenConnectionAsync();

        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode"));
        Assert.Equal(7000L, await ScalarAsync(connection, "PRAGMA busy_timeout"));
        Assert.Equal(2L, await ScalarAsync(connection, "PRAGMA synchronous")); // FULL

        // WAL is a property of the file: any connection to it sees it.
        await using SqliteConnection plain = new(_database.ConnectionString + ";Pooling=False");
        await plain.OpenAsync();
        Assert.Equal("wal", await ScalarAsync(plain, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Connections_CanRunWithSynchronousNormal()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.Synchronous = SqliteSynchronousMode.Normal);
        await using DbConnection connection = await store.OpenConnectionAsync();
        Assert.Equal(1L, await ScalarAsync(connection, "PRAGMA synchronous")); // NORMAL
    }

    [Fact]
    public async Task Options_AreValidated()
    {
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = " " }));
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", TablePrefix = "bad; DROP TABLE x; --" }));
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", TablePrefix = "1abc" }));
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", BusyTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", CleanupChunkSize = 0 }));
        Assert.Throws<ArgumentException>(() => new SqliteOutboxStore(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", Synchronous = (SqliteSynchronousMode)7 }));
        await using SqliteOutboxStore empty = new(new SqliteOutboxStoreOptions { ConnectionString = "Data Source=x.db", TablePrefix = string.Empty });
        Assert.Equal(string.Empty, empty.Options.TablePrefix);
    }

    [Fact]
    public async Task Schema_RecordsTheVersion_AndANewerSchemaIsRefused()
    {
        SqliteOutboxStore store = await StoreAsync(ensureSchema: false);
        Assert.Null(await store.GetSchemaVersionAsync());
        await store.EnsureSchemaAsync();
        Assert.Equal(OutboxSchema.Version, await store.GetSchemaVersionAsync());

        await using (DbConnection connection = await store.OpenConnectionAsync())
        {
            await ScalarAsync(connection, $"UPDATE switchboard_schema SET version = {OutboxSchema.Version + 1}");
        }

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.EnsureSchemaAsync());
        Assert.Contains($"version {OutboxSchema.Version + 1}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchemaScript_CreatesTheSameSchema_AndCanRunTwice()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.TablePrefix = "migrated_", ensureSchema: false);
        await using (DbConnection connection = await store.OpenConnectionAsync())
        {
            await ScalarAsync(connection, store.GetSchemaScript());
            await ScalarAsync(connection, store.GetSchemaScript());
        }

        Assert.Equal(OutboxSchema.Version, await store.GetSchemaVersionAsync());
        await store.EnsureSchemaAsync();
        await AddCommittedAsync(store, Message("1"));
        Assert.Equal(1, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task Claim_ARowWithUnreadableHeaders_IsParkedDead_AndTheOthersAreClaimed()
    {
        SqliteOutboxStore store = await StoreAsync();
        await AddCommittedAsync(store, Message("1"), Message("2"), Message("3"));
        await using (DbConnection connection = await store.OpenConnectionAsync())
        {
            await ScalarAsync(connection, "UPDATE switchboard_outbox SET headers = 'not json' WHERE id = (SELECT MIN(id) + 1 FROM switchboard_outbox)");
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)));
        Assert.Equal(["1", "3"], rows.Select(r => Encoding.UTF8.GetString(r.Message.Body.Span)));

        OutboxMessage dead = Assert.Single(await store.ListDeadAsync(10));
        Assert.Equal("2", Encoding.UTF8.GetString(dead.Message.Body.Span));
        Assert.Empty(dead.Message.Headers);
        Assert.Contains("not a JSON object", dead.DeadReason!.Reason, StringComparison.Ordinal);
        Assert.Equal(1, dead.DeadReason.Attempts);
        Assert.True(await store.DeleteDeadAsync(dead.Id));
    }

    [Fact]
    public async Task Schema_TwoPrefixesInOneDatabase_AreIndependent()
    {
        SqliteOutboxStore first = await StoreAsync(o => o.TablePrefix = "one_");
        SqliteOutboxStore second = await StoreAsync(o => o.TablePrefix = "two_");
        await AddCommittedAsync(first, Message("a"), Message("b"));
        await AddCommittedAsync(second, Message("c"));

        Assert.Equal(2, (await first.CountAsync()).Pending);
        Assert.Equal(1, (await second.CountAsync()).Pending);
    }

    [Fact]
    public async Task CommitHook_WakesListenersOnCommit_NeverOnRollback_NorOnCommitsWithoutOutboxRows()
    {
        SqliteOutboxStore store = await StoreAsync();
        int wakes = 0;
        await using IAsyncDisposable listener = await store.ListenAsync(() => Interlocked.Increment(ref wakes));
        await using SqliteConnection connection = (SqliteConnection)await store.OpenConnectionAsync();
        await ScalarAsync(connection, "CREATE TABLE business (id TEXT PRIMARY KEY)");

        // Rolled back: no wake, and the rollback disarms the hook.
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            await store.AddAsync(transaction, [Message("rolled back")]);
            transaction.Rollback();
        }

        Assert.True(SqliteCommitHook.IsInstalled(connection));
        Assert.Equal(0, Volatile.Read(ref wakes));

        // A commit of business data only: no wake.
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO business (id) VALUES ('b-1')");
            transaction.Commit();
        }

        await ScalarAsync(connection, "INSERT INTO business (id) VALUES ('b-2')");
        Assert.Equal(0, Volatile.Read(ref wakes));

        // A commit with outbox rows: one wake, at the commit (not at the write).
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            await store.AddAsync(transaction, [Message("1"), Message("2")]);
            Assert.Equal(0, Volatile.Read(ref wakes));
            transaction.Commit();
        }

        Assert.Equal(1, Volatile.Read(ref wakes));
        Assert.Equal(2, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task CommitHook_AfterListenerDisposed_CallsNothing()
    {
        SqliteOutboxStore store = await StoreAsync();
        int wakes = 0;
        IAsyncDisposable listener = await store.ListenAsync(() => Interlocked.Increment(ref wakes));
        await AddCommittedAsync(store, Message("1"));
        Assert.Equal(1, Volatile.Read(ref wakes));

        await listener.DisposeAsync();
        await listener.DisposeAsync();
        await AddCommittedAsync(store, Message("2"));
        Assert.Equal(1, Volatile.Read(ref wakes));
    }

    [Fact]
    public async Task CommitHook_AThrowingListener_DoesNotBreakTheCommit()
    {
        SqliteOutboxStore store = await StoreAsync();
        int wakes = 0;
        await using IAsyncDisposable bad = await store.ListenAsync(() => throw new InvalidOperationException("listener bug"));
        await using IAsyncDisposable good = await store.ListenAsync(() => Interlocked.Increment(ref wakes));

        await AddCommittedAsync(store, Message("1"));

        Assert.Equal(1, Volatile.Read(ref wakes));
        Assert.Equal(1, (await store.CountAsync()).Pending);
    }

    [Fact]
    public async Task CommitHook_TwoStoresOnOneDatabase_BothHear_ACommitOnAPooledConnection()
    {
        SqliteOutboxStore first = await StoreAsync();
        SqliteOutboxStore second = await StoreAsync();
        int firstWakes = 0;
        int secondWakes = 0;
        await using IAsyncDisposable a = await first.ListenAsync(() => Interlocked.Increment(ref firstWakes));
        await using IAsyncDisposable b = await second.ListenAsync(() => Interlocked.Increment(ref secondWakes));

        // The same pooled handle serves both stores' writes: each arms the hook for its own listeners.
        await AddCommittedAsync(first, Message("1"));
        await AddCommittedAsync(second, Message("2"));

        Assert.True(Volatile.Read(ref firstWakes) >= 1);
        Assert.True(Volatile.Read(ref secondWakes) >= 1);
    }

    [Fact]
    public async Task Bus_CommitOnTheApplicationsOwnConnection_WakesTheDispatcher()
    {
        ConcurrentDictionary<string, long> handledAt = new();
        int sleepsAtWarmUp = -1;
        TimeSpan poll = TimeSpan.FromSeconds(37); // no other timer of the bus is this long
        DispatcherSleeps sleeps = new(poll);
        IMessageBus bus = MessageBus.Create(b => b
            .UseTimeProvider(sleeps)
            .UseSqliteOutbox(_database.ConnectionString, o => o.PollInterval = poll)
            .Handle<SqliteOrderPlaced>(e =>
            {
                if (e.Id == "warm-up")
                {
                    Volatile.Write(ref sleepsAtWarmUp, sleeps.Count);
                }

                handledAt[e.Id] = Stopwatch.GetTimestamp();
            }));
        _owned.Add(bus);
        IOutbox outbox = bus.GetOutbox();
        await outbox.Store.EnsureSchemaAsync();

        // After the warm-up the dispatcher goes to sleep for the poll interval (it starts a timer that long): from then on
        // only the commit's wake-up can find the next row.
        await PublishOnOwnConnectionAsync(outbox, "warm-up");
        await WaitAsync(() => handledAt.ContainsKey("warm-up"), TimeSpan.FromSeconds(15));
        await WaitAsync(() => sleeps.Count > Volatile.Read(ref sleepsAtWarmUp), TimeSpan.FromSeconds(15));

        await PublishOnOwnConnectionAsync(outbox, "woken");
        long committedAt = Stopwatch.GetTimestamp();
        await WaitAsync(() => handledAt.ContainsKey("woken"), TimeSpan.FromSeconds(15));
        TimeSpan took = Stopwatch.GetElapsedTime(committedAt, handledAt["woken"]);
        Assert.True(took < TimeSpan.FromSeconds(1), $"handled {took.TotalMilliseconds:0} ms after the commit");
    }

    [Fact]
    public async Task Bus_UseSqliteOutbox_OwnsTheStore_AndDisposesItWithTheBus()
    {
        IMessageBus bus = MessageBus.Create(b => b.UseSqliteOutbox(new SqliteOutboxStoreOptions { ConnectionString = _database.ConnectionString, TablePrefix = "owned_" }));
        IOutboxStore store = bus.GetOutbox().Store;
        Assert.Equal("owned_", Assert.IsType<SqliteOutboxStore>(store).Options.TablePrefix);
        Assert.Equal(0, (await bus.GetOutbox().GetStatisticsAsync()).Pending);

        await bus.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.OpenConnectionAsync());
    }

    [Fact]
    public async Task ConcurrentWriters_WaitForTheLock_AndEveryRowIsDispatched()
    {
        const int writers = 8;
        const int transactionsEach = 25;
        ConcurrentDictionary<string, int> handled = new();
        IMessageBus bus = MessageBus.Create(b => b
            .UseSqliteOutbox(_database.ConnectionString, o => o.PollInterval = TimeSpan.FromMilliseconds(50))
            .Handle<SqliteOrderPlaced>(e => handled.AddOrUpdate(e.Id, 1, static (_, n) => n + 1)));
        _owned.Add(bus);
        IOutbox outbox = bus.GetOutbox();
        await outbox.Store.EnsureSchemaAsync();

        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int t = 0; t < transactionsEach; t++)
            {
                await using DbConnection connection = await outbox.Store.OpenConnectionAsync();
                await using DbTransaction transaction = await connection.BeginTransactionAsync();
                await outbox.PublishAsync(transaction, new SqliteOrderPlaced($"w{w}-t{t}-a"));
                await outbox.PublishAsync(transaction, new SqliteOrderPlaced($"w{w}-t{t}-b"));
                await transaction.CommitAsync();
            }
        })));

        await WaitAsync(() => handled.Count == writers * transactionsEach * 2, TimeSpan.FromSeconds(30), () => $"{handled.Count} handled");
        Assert.All(handled.Values, n => Assert.Equal(1, n));
    }

    /// <summary>How long a claim blocked by another connection's write lock is watched (see the test that uses it).</summary>
    private static readonly TimeSpan BusyWaitWatched = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task BusyTimeout_AStatementWaitsForTheWriteLock()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.BusyTimeout = TimeSpan.FromSeconds(5));
        await AddCommittedAsync(store, Message("1"));
        await using SqliteConnection locker = new(_database.ConnectionString + ";Pooling=False");
        await locker.OpenAsync();
        SqliteTransaction held = locker.BeginTransaction(deferred: false);

        DateTimeOffset now = DateTimeOffset.UtcNow;
        TaskCompletionSource calling = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<IReadOnlyList<OutboxMessage>> claim = Task.Run(async () =>
        {
            calling.SetResult();
            return await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30)));
        });

        // A bounded window, on purpose: SQLite's busy handler waits inside the native step call and shows nothing outside it
        // (no lock-wait view as PostgreSQL's pg_stat_activity), so the claim is watched for a while from when it was called.
        // Without the busy timeout it would fail with SQLITE_BUSY at once, well inside the window; under load the window
        // can only pass vacuously (the claim not yet at its BEGIN IMMEDIATE), never fail a correct store.
        await calling.Task;
        await Task.Delay(BusyWaitWatched);
        Assert.False(claim.IsCompleted, "the claim should wait for the write lock");
        held.Rollback();
        Assert.Single(await claim); // it succeeded after the lock was released: it waited, rather than failing
    }

    [Fact]
    public async Task BusyTimeout_ALockHeldLonger_FailsTheStatementWithBusy_AfterAboutTheTimeout()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.BusyTimeout = TimeSpan.FromMilliseconds(500));
        await using SqliteConnection locker = new(_database.ConnectionString + ";Pooling=False");
        await locker.OpenAsync();
        await using SqliteTransaction held = locker.BeginTransaction(deferred: false);

        DateTimeOffset now = DateTimeOffset.UtcNow;
        Stopwatch waited = Stopwatch.StartNew();
        SqliteException error = await Assert.ThrowsAsync<SqliteException>(async () => await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));
        Assert.Equal(5, error.SqliteErrorCode); // SQLITE_BUSY
        Assert.InRange(waited.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Claim_UsesThePendingIndexes_NotAScanOfDispatchedRows()
    {
        SqliteOutboxStore store = await StoreAsync();
        await using SqliteConnection connection = (SqliteConnection)await store.OpenConnectionAsync();
        await using SqliteCommand explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + store.ClaimSql;
        explain.Parameters.AddWithValue("@owner", "a");
        explain.Parameters.AddWithValue("@until", 0L);
        explain.Parameters.AddWithValue("@now", 0L);
        explain.Parameters.AddWithValue("@limit", 10);
        StringBuilder plan = new();
        await using (SqliteDataReader reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.AppendLine(reader.GetString(3));
            }
        }

        string text = plan.ToString();
        Assert.Contains("switchboard_outbox_pending", text, StringComparison.Ordinal);
        Assert.Contains("switchboard_outbox_pending_key", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN o\n", text.Replace("\r", string.Empty, StringComparison.Ordinal) + "\n", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claim_WithManyDispatchedRows_StaysFast()
    {
        SqliteOutboxStore store = await StoreAsync();
        await AddCommittedAsync(store, [.. Enumerable.Range(0, 50_000).Select(i => Message($"{i}", i % 100 == 0 ? null : $"k{i % 500}"))]);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> all = await store.ClaimAsync(new OutboxClaim("a", 50_000, now, now.AddSeconds(30)));
        Assert.Equal(50_000, all.Count);
        await store.MarkDispatchedAsync([.. all.Select(r => r.Id)], now);
        await AddCommittedAsync(store, [.. Enumerable.Range(0, 2_000).Select(i => Message($"new-{i}", $"k{i % 500}"))]);

        Stopwatch watch = Stopwatch.StartNew();
        int claimed = 0;
        for (int i = 0; i < 20; i++)
        {
            IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("b", 100, now, now.AddSeconds(30)));
            claimed += rows.Count;
            await store.MarkDispatchedAsync([.. rows.Select(r => r.Id)], now);
        }

        Assert.Equal(2_000, claimed);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"20 claims and marks took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task DeleteExpired_RunsInChunks_AndDeletesEverythingExpired()
    {
        SqliteOutboxStore store = await StoreAsync(o => o.CleanupChunkSize = 100);
        await AddCommittedAsync(store, [.. Enumerable.Range(0, 1_050).Select(i => Message($"{i}"))]);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 2_000, now, now.AddSeconds(30)));
        await store.MarkDispatchedAsync([.. rows.Select(r => r.Id)], now.AddHours(-2));
        await using (DbConnection connection = await store.OpenConnectionAsync())
        await using (DbTransaction transaction = await connection.BeginTransactionAsync())
        {
            for (int i = 0; i < 250; i++)
            {
                await store.TryRecordProcessedAsync(transaction, "svc", $"m-{i}", now.AddDays(-8));
            }

            await transaction.CommitAsync();
        }

        Assert.Equal(1_300, await store.DeleteExpiredAsync(now.AddHours(-1), now.AddDays(-7)));
    }

    [Fact]
    public async Task SharedInMemoryDatabase_Works_WhileAConnectionKeepsItAlive()
    {
        string connectionString = $"Data Source=outbox-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
        await using SqliteConnection keepAlive = new(connectionString);
        await keepAlive.OpenAsync();
        SqliteOutboxStore store = await StoreAsync(o => o.ConnectionString = connectionString);
        await AddCommittedAsync(store, Message("1"));

        DateTimeOffset now = DateTimeOffset.UtcNow;
        Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));
    }

    private async Task<SqliteOutboxStore> StoreAsync(Action<SqliteOutboxStoreOptions>? configure = null, bool ensureSchema = true)
    {
        SqliteOutboxStoreOptions options = new() { ConnectionString = _database.ConnectionString };
        configure?.Invoke(options);
        SqliteOutboxStore store = new(options);
        _owned.Add(store);
        if (ensureSchema)
        {
            await store.EnsureSchemaAsync();
        }

        return store;
    }

    private static async Task AddCommittedAsync(SqliteOutboxStore store, params TransportMessage[] messages)
    {
        await using DbConnection connection = await store.OpenConnectionAsync();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await store.AddAsync(transaction, messages);
        await transaction.CommitAsync();
    }

    private async Task PublishOnOwnConnectionAsync(IOutbox outbox, string id)
    {
        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        await using SqliteTransaction transaction = connection.BeginTransaction();
        await outbox.PublishAsync(transaction, new SqliteOrderPlaced(id));
        await transaction.CommitAsync();
    }

    private static TransportMessage Message(string body, string? partitionKey = null) => new()
    {
        Destination = "orders",
        Headers = new Dictionary<string, string>(StringComparer.Ordinal) { [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N") },
        Body = Encoding.UTF8.GetBytes(body),
        PartitionKey = partitionKey,
    };

    private static async Task<object?> ScalarAsync(DbConnection connection, string sql)
    {
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not true within {timeout.TotalSeconds} s{(describe is null ? string.Empty : ": " + describe())}");
            await Task.Delay(10);
        }
    }

    private sealed class ForeignTransaction : DbTransaction
    {
        public override IsolationLevel IsolationLevel => IsolationLevel.ReadCommitted;

        protected override DbConnection? DbConnection => null;

        public override void Commit()
        {
        }

        public override void Rollback()
        {
        }
    }
}

public sealed record SqliteOrderPlaced(string Id);
