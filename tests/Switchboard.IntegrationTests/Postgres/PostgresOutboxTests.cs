using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using Npgsql;
using Switchboard.Outbox;
using Switchboard.Outbox.Conformance;
using Switchboard.Postgres;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Postgres;

public sealed record PgKeyed(string Key, int Seq);
public sealed record PgPing(string Id);

/// <summary>What only PostgreSQL does: several dispatchers on one database, LISTEN/NOTIFY across stores, a listener that survives its connection.</summary>
public sealed class PostgresOutboxTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _schema = PostgresServer.NewSchema();
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }

        await PostgresServer.DropSchemaAsync(_schema);
    }

    [Fact]
    public async Task TwoDispatchers_2000RowsInManyTransactions_EachHandledOnce_InOrderPerKey()
    {
        const int writers = 4;
        const int keysPerWriter = 5;
        const int transactionsPerWriter = 50;
        const int rowsPerTransaction = 10;
        const int total = writers * transactionsPerWriter * rowsPerTransaction;

        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        ConcurrentDictionary<string, List<int>> order = new(StringComparer.Ordinal);
        ConcurrentDictionary<string, int> perBus = new(StringComparer.Ordinal);
        IMessageBus first = Bus("pg-a", Record, o => { o.UseInbox = false; o.BatchSize = 25; o.PollInterval = TimeSpan.FromMilliseconds(200); });
        IMessageBus second = Bus("pg-b", Record, o => { o.UseInbox = false; o.BatchSize = 25; o.PollInterval = TimeSpan.FromMilliseconds(200); });
        Assert.NotSame(first.GetOutbox().Store, second.GetOutbox().Store);

        // Each writer owns its keys, so that the order of a key's rows is the order its writer committed them.
        IOutbox outbox = first.GetOutbox();
        PostgresOutboxStore store = (PostgresOutboxStore)outbox.Store;
        await store.EnsureSchemaAsync();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            int[] next = new int[keysPerWriter];
            for (int t = 0; t < transactionsPerWriter; t++)
            {
                await using NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync();
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
                for (int r = 0; r < rowsPerTransaction; r++)
                {
                    int k = (t + r) % keysPerWriter;
                    string key = $"w{w}-k{k}";
                    await outbox.PublishAsync(transaction, new PgKeyed(key, next[k]++), new OutboxMessageOptions { PartitionKey = key });
                }

                await transaction.CommitAsync();
            }
        })));

        await Waiting.UntilAsync(() => handled.Count == total, TimeSpan.FromSeconds(90), () => $"{handled.Count} of {total} handled");
        // Deterministic: a row is marked dispatched only after its handler succeeded, and a marked row is never claimed again;
        // once none is pending, no second delivery can come.
        await Waiting.UntilAsync(() => store.CountAsync().AsTask().GetAwaiter().GetResult().Pending == 0, TimeSpan.FromSeconds(30), () => "rows still pending");
        Assert.Equal(total, handled.Count);
        Assert.All(handled, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(writers * keysPerWriter, order.Count);
        foreach ((string key, List<int> seqs) in order)
        {
            Assert.True(seqs.SequenceEqual(Enumerable.Range(0, seqs.Count)), $"{key} was handled out of order: {string.Join(",", seqs)}");
        }

        Assert.True(perBus.GetValueOrDefault("pg-a") > 0 && perBus.GetValueOrDefault("pg-b") > 0, $"both dispatchers should have worked: {string.Join(", ", perBus)}");
        await Waiting.UntilAsync(async () => (await outbox.GetStatisticsAsync()).Pending == 0, Patience, () => "rows are still pending");

        void Record(BusBuilder b, string bus) => b.Handle<PgKeyed>(e =>
        {
            handled.AddOrUpdate($"{e.Key}/{e.Seq}", 1, (_, n) => n + 1);
            perBus.AddOrUpdate(bus, 1, (_, n) => n + 1);
            List<int> seqs = order.GetOrAdd(e.Key, _ => []);
            lock (seqs)
            {
                seqs.Add(e.Seq);
            }
        });
    }

    [Fact]
    public async Task Notify_ACommitThroughAnotherStore_WakesTheDispatcher_WithinOneSecond()
    {
        ConcurrentDictionary<string, long> handledAt = new(StringComparer.Ordinal);
        ConcurrentDictionary<string, int> sleepsAt = new(StringComparer.Ordinal);
        TimeSpan poll = TimeSpan.FromSeconds(37); // no other timer of the bus is this long
        DispatcherSleeps sleeps = new(poll);
        IMessageBus dispatcher = Bus(
            "pg-dispatcher",
            (b, _) => b.UseTimeProvider(sleeps).Handle<PgPing>(e =>
            {
                sleepsAt[e.Id] = sleeps.Count;
                handledAt[e.Id] = Stopwatch.GetTimestamp();
            }),
            o => o.PollInterval = poll);
        IMessageBus writer = Bus("pg-writer", (b, _) => b.AddMessageType<PgPing>(), o => { o.RunDispatcher = false; o.PollInterval = TimeSpan.FromSeconds(30); });

        // The first message may be found by the dispatcher's first claim; after it, it sleeps for the poll interval unless
        // woken (the signal: it starts a timer that long).
        await WriteAsync(writer, new PgPing("warm-up"));
        await Waiting.UntilAsync(() => handledAt.ContainsKey("warm-up"), Patience, () => "the first message was not handled");
        await Waiting.UntilAsync(() => sleeps.Count > sleepsAt["warm-up"], Patience, () => "the dispatcher did not go to sleep");

        for (int i = 0; i < 3; i++)
        {
            string id = $"woken-{i}";
            await WriteAsync(writer, new PgPing(id));
            long committedAt = Stopwatch.GetTimestamp();
            await Waiting.UntilAsync(() => handledAt.ContainsKey(id), Patience, () => $"{id} was not handled");
            TimeSpan took = Stopwatch.GetElapsedTime(committedAt, handledAt[id]);
            Assert.True(took < TimeSpan.FromSeconds(1), $"{id} was handled {took.TotalMilliseconds:0} ms after its commit in another store");
            await Waiting.UntilAsync(() => sleeps.Count > sleepsAt[id], Patience, () => $"the dispatcher did not go to sleep after {id}");
        }
    }

    [Fact]
    public async Task Listener_SurvivesPgTerminateBackend_AndDispatchesARowCommittedAfter()
    {
        ConcurrentDictionary<string, long> handledAt = new(StringComparer.Ordinal);
        IMessageBus bus = Bus("pg-listener", (b, _) => b.Handle<PgPing>(e => handledAt[e.Id] = Stopwatch.GetTimestamp()), o => o.PollInterval = TimeSpan.FromSeconds(30));
        PostgresOutboxStore store = (PostgresOutboxStore)bus.GetOutbox().Store;
        string listen = $"LISTEN \"{store.Options.GetNotifyChannel()}\"";

        await WriteAsync(bus, new PgPing("before"));
        await Waiting.UntilAsync(() => handledAt.ContainsKey("before"), Patience, () => "the first message was not handled");
        int pid = await ListenerPidAsync(listen);
        Assert.True(pid > 0, "no backend is listening");

        Assert.True(await PostgresServer.ScalarAsync<bool>($"SELECT pg_terminate_backend({pid})"));
        int newPid = 0;
        // The new connection's LISTEN has finished (its backend is idle after it): from here on it hears every commit.
        await Waiting.UntilAsync(
            async () => (newPid = await ListenerPidAsync(listen, idle: true)) is > 0 && newPid != pid,
            Patience,
            () => "the listener did not reconnect");

        await WriteAsync(bus, new PgPing("after"));
        long committedAt = Stopwatch.GetTimestamp();
        await Waiting.UntilAsync(() => handledAt.ContainsKey("after"), Patience, () => "the row committed after the reconnect was not handled");
        TimeSpan took = Stopwatch.GetElapsedTime(committedAt, handledAt["after"]);
        Assert.True(took < TimeSpan.FromSeconds(1), $"handled {took.TotalMilliseconds:0} ms after its commit: the new listening connection did not wake the dispatcher");
    }

    [Fact]
    public async Task Listener_AfterItsConnectionIsKilled_CallsBackOnce_ThenHearsCommitsAgain()
    {
        long failures = 0, restorations = 0;
        using System.Diagnostics.Metrics.MeterListener meters = new();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SwitchboardDiagnostics.MeterName && instrument.Name.StartsWith("switchboard.postgres.listener.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name.EndsWith(".failures", StringComparison.Ordinal))
            {
                Interlocked.Add(ref failures, value);
            }
            else
            {
                Interlocked.Add(ref restorations, value);
            }
        });
        meters.Start();
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        int calls = 0, witnessed = 0;
        IAsyncDisposable listener = await store.ListenAsync(() => Interlocked.Increment(ref calls));
        _disposables.Add(listener);
        string listen = $"LISTEN \"{store.Options.GetNotifyChannel()}\"";
        int pid = await ListenerPidAsync(listen);
        Assert.True(await PostgresServer.ScalarAsync<bool>($"SELECT pg_terminate_backend({pid})"));

        // A commit during the outage went unheard: the reconnect calls back by itself.
        await Waiting.UntilAsync(() => Volatile.Read(ref calls) > 0, Patience, () => "no call after the reconnect");
        await Waiting.UntilAsync(async () => await ListenerPidAsync(listen) is > 0 and int p && p != pid, Patience, () => "the listener did not reconnect");
        int before = Volatile.Read(ref calls);
        await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await store.AddAsync(transaction, [Message("m-1")]);
            await transaction.CommitAsync();
        }

        await Waiting.UntilAsync(() => Volatile.Read(ref calls) > before, Patience, () => "the commit after the reconnect was not heard");

        // The outage is counted on the Switchboard meter (other tests' listeners may add to it, never subtract).
        Assert.True(Interlocked.Read(ref failures) >= 1, "the lost LISTEN connection was not counted");
        Assert.True(Interlocked.Read(ref restorations) >= 1, "the restored LISTEN connection was not counted");

        // Disposed: it stops calling back. A second listener on the channel witnesses that the commit was notified.
        _disposables.Add(await store.ListenAsync(() => Interlocked.Increment(ref witnessed)));
        await listener.DisposeAsync();
        int atDispose = Volatile.Read(ref calls);
        await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await store.AddAsync(transaction, [Message("m-2")]);
            await transaction.CommitAsync();
        }

        await Waiting.UntilAsync(() => Volatile.Read(ref witnessed) > 0, Patience, () => "the witness did not hear the commit");
        Assert.Equal(atDispose, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Notify_IsNotSentForARolledBackTransaction()
    {
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        int calls = 0;
        _disposables.Add(await store.ListenAsync(() => Interlocked.Increment(ref calls)));
        // PostgreSQL delivers a listener's notifications in commit order: once it heard a marker committed after a point,
        // it would have heard anything notified before that point.
        async Task CommitMarkerAsync(string id)
        {
            await using NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync();
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
            await store.AddAsync(transaction, [Message(id)]);
            await transaction.CommitAsync();
        }

        await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await store.AddAsync(transaction, [Message("m-1")]);
            await CommitMarkerAsync("marker-1");
            await Waiting.UntilAsync(() => Volatile.Read(ref calls) >= 1, Patience, () => "the first marker was not heard");
            Assert.Equal(1, Volatile.Read(ref calls)); // the marker only: nothing before the commit
            await transaction.RollbackAsync();
        }

        await CommitMarkerAsync("marker-2");
        await Waiting.UntilAsync(() => Volatile.Read(ref calls) >= 2, Patience, () => "the second marker was not heard");
        Assert.Equal(2, Volatile.Read(ref calls)); // the markers only: nothing for the rollback
        Assert.Equal(2, (await store.CountAsync()).Pending); // the markers; the rolled-back row does not exist
    }

    [Fact]
    public async Task AddAsync_WithANonNpgsqlTransaction_Throws()
    {
        PostgresOutboxStore store = Store();
        ArgumentException add = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AddAsync(new OtherTransaction(), [Message("m-1")]));
        Assert.Contains("NpgsqlTransaction", add.Message, StringComparison.Ordinal);
        ArgumentException record = await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryRecordProcessedAsync(new OtherTransaction(), "c", "m-1", DateTimeOffset.UtcNow));
        Assert.Contains("NpgsqlTransaction", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureSchema_FromFourStoresAtOnce_Works_AndRecordsTheVersionOnce()
    {
        PostgresOutboxStore[] stores = [.. Enumerable.Range(0, 4).Select(_ => Store())];
        await Task.WhenAll(stores.Select(s => s.EnsureSchemaAsync().AsTask()));
        await Task.WhenAll(stores.Select(s => s.EnsureSchemaAsync().AsTask()));
        Assert.Equal(1L, await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM \"{_schema}\".switchboard_schema"));
        Assert.Equal(OutboxSchema.Version, await PostgresServer.ScalarAsync<int>($"SELECT max(version) FROM \"{_schema}\".switchboard_schema"));
    }

    [Fact]
    public async Task SchemaScript_RunByAMigration_IsWhatTheStoreNeeds_WithCreateSchemaOff()
    {
        PostgresOutboxStore store = Store();
        await PostgresServer.ExecuteAsync($"CREATE SCHEMA \"{_schema}\";\n{store.GetSchemaScript()}");
        await PostgresServer.ExecuteAsync(store.GetSchemaScript()); // idempotent

        ConcurrentDictionary<string, bool> handled = new(StringComparer.Ordinal);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = "pg-migrated";
            b.Handle<PgPing>(e => handled[e.Id] = true);
            b.UsePostgresOutbox(store, o => { o.CreateSchema = false; o.PollInterval = TimeSpan.FromMilliseconds(100); });
        });
        _disposables.Add(bus);
        await WriteAsync(bus, new PgPing("migrated"));
        await Waiting.UntilAsync(() => handled.ContainsKey("migrated"), Patience, () => "not handled");
    }

    [Fact]
    public async Task UsePostgresOutbox_OnACallersDataSource_LeavesItOpen_OnAConnectionString_Works()
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        ConcurrentDictionary<string, bool> handled = new(StringComparer.Ordinal);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = "pg-datasource";
            b.Handle<PgPing>(e => handled[e.Id] = true);
            b.UsePostgresOutbox(new PostgresOutboxStoreOptions { DataSource = dataSource, Schema = _schema }, o => o.PollInterval = TimeSpan.FromMilliseconds(100));
        });
        await WriteAsync(bus, new PgPing("one"));
        await Waiting.UntilAsync(() => handled.ContainsKey("one"), Patience, () => "not handled");
        await bus.DisposeAsync();

        // The bus disposed its store, not the caller's data source.
        await using (NpgsqlCommand command = dataSource.CreateCommand("SELECT 1"))
        {
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }

        IMessageBus other = MessageBus.Create(b =>
        {
            b.Options.Name = "pg-connection-string";
            b.Handle<PgPing>(e => handled[e.Id] = true);
            b.UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema }, o => o.PollInterval = TimeSpan.FromMilliseconds(100));
        });
        _disposables.Add(other);
        await WriteAsync(other, new PgPing("two"));
        await Waiting.UntilAsync(() => handled.ContainsKey("two"), Patience, () => "not handled");
    }

    [Fact]
    public async Task Claim_ARowWhoseHeadersCannotBeRead_IsParkedDead_AndTheOthersFlow()
    {
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await store.AddAsync(transaction, [Message("bad"), Message("good")]);
            await transaction.CommitAsync();
        }

        await PostgresServer.ExecuteAsync($"UPDATE \"{_schema}\".switchboard_outbox SET headers = '[1, 2]'::jsonb WHERE message_id = 'bad'");
        DateTimeOffset now = DateTimeOffset.UtcNow;
        OutboxMessage good = Assert.Single(await store.ClaimAsync(new OutboxClaim("a", 10, now, now.AddSeconds(30))));
        Assert.Equal("good", good.Message.MessageId);
        OutboxMessage dead = Assert.Single(await store.ListDeadAsync(10));
        Assert.Contains("cannot be read", dead.DeadReason!.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Inbox_AConcurrentDuplicate_WaitsForTheFirst_ThenConflictsIfItCommitted(bool commitFirst, bool secondIsFirstTime)
    {
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await using NpgsqlConnection firstConnection = await store.DataSource.OpenConnectionAsync();
        await using NpgsqlTransaction first = await firstConnection.BeginTransactionAsync();
        Assert.True(await store.TryRecordProcessedAsync(first, "svc", "m-1", now));

        await using NpgsqlConnection secondConnection = await store.DataSource.OpenConnectionAsync();
        await using NpgsqlTransaction second = await secondConnection.BeginTransactionAsync();
        Task<bool> duplicate = store.TryRecordProcessedAsync(second, "svc", "m-1", now).AsTask();
        // The signal: the second backend waits on a lock (the first transaction's row), as pg_stat_activity reports it.
        await Waiting.UntilAsync(
            async () => duplicate.IsCompleted || await PostgresServer.ScalarAsync<string>($"SELECT coalesce(wait_event_type, '') FROM pg_stat_activity WHERE pid = {secondConnection.ProcessID}") == "Lock",
            Patience,
            () => "the second insert neither waited for a lock nor completed");
        Assert.False(duplicate.IsCompleted, "the second insert should wait for the first transaction");

        if (commitFirst)
        {
            await first.CommitAsync();
        }
        else
        {
            await first.RollbackAsync();
        }

        Assert.Equal(secondIsFirstTime, await duplicate.WaitAsync(Patience));
        await second.CommitAsync();
    }

    [Fact]
    public async Task DeleteExpired_MoreRowsThanOneChunk_DeletesThemAll()
    {
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await store.AddAsync(transaction, [.. Enumerable.Range(0, 12_000).Select(i => Message($"m-{i}"))]);
            await store.AddAsync(transaction, [Message("kept")]);
            await transaction.CommitAsync();
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<OutboxMessage> rows = await store.ClaimAsync(new OutboxClaim("a", 12_000, now, now.AddSeconds(30)));
        Assert.Equal(12_000, rows.Count);
        await store.MarkDispatchedAsync([.. rows.Select(r => r.Id)], now.AddHours(-2));

        Assert.Equal(12_000, await store.DeleteExpiredAsync(now.AddHours(-1), now.AddDays(-7)));
        Assert.Equal(1L, await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM \"{_schema}\".switchboard_outbox"));
    }

    [Fact]
    public async Task EnsureSchema_OnTablesOfANewerVersion_Refuses()
    {
        PostgresOutboxStore store = Store();
        await store.EnsureSchemaAsync();
        await PostgresServer.ExecuteAsync($"INSERT INTO \"{_schema}\".switchboard_schema (version) VALUES ({OutboxSchema.Version + 1})");
        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.EnsureSchemaAsync());
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreValidated_WithoutQuotingTheConnectionString()
    {
        ArgumentException none = Assert.Throws<ArgumentException>(() => new PostgresOutboxStore(new PostgresOutboxStoreOptions()));
        Assert.Contains("ConnectionString", none.Message, StringComparison.Ordinal);
        ArgumentException schema = Assert.Throws<ArgumentException>(() => new PostgresOutboxStore(new PostgresOutboxStoreOptions { ConnectionString = "Host=h;Password=secret-pw", Schema = "Bad\"Name" }));
        Assert.DoesNotContain("secret-pw", schema.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new PostgresOutboxStore(new PostgresOutboxStoreOptions { ConnectionString = "Host=h", TablePrefix = "x;drop" }));
        Assert.Throws<ArgumentException>(() => new PostgresOutboxStore(new PostgresOutboxStoreOptions { ConnectionString = "Host=h", NotifyChannel = new string('c', 64) }));
        Assert.Equal("public_switchboard_outbox", new PostgresOutboxStoreOptions().GetNotifyChannel());
        string longDefault = new PostgresOutboxStoreOptions { Schema = new string('s', 60), TablePrefix = "p_" }.GetNotifyChannel();
        Assert.True(longDefault.Length <= 63, longDefault);
    }

    private PostgresOutboxStore Store()
    {
        PostgresOutboxStore store = new(new PostgresOutboxStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        _disposables.Add(store);
        return store;
    }

    /// <summary>A bus on a store of its own over this test's tables: buses share rows, not stores.</summary>
    private IMessageBus Bus(string name, Action<BusBuilder, string> configure, Action<OutboxOptions> outbox)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            configure(b, name);
            b.UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema }, o =>
            {
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(10);
                o.Retry.Jitter = false;
                outbox(o);
            });
        });
        _disposables.Add(bus);
        return bus;
    }

    private static async Task WriteAsync<T>(IMessageBus bus, T message)
    {
        IOutbox outbox = bus.GetOutbox();
        await using DbConnection connection = await outbox.Store.OpenConnectionAsync();
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await outbox.PublishAsync(transaction, message);
        await transaction.CommitAsync();
    }

    private static async Task<int> ListenerPidAsync(string listenStatement, bool idle = false)
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        await using NpgsqlCommand command = dataSource.CreateCommand(
            "SELECT pid FROM pg_stat_activity WHERE query = @query AND pid <> pg_backend_pid()" + (idle ? " AND state = 'idle'" : string.Empty) + " ORDER BY backend_start DESC LIMIT 1");
        command.Parameters.AddWithValue("query", listenStatement);
        return await command.ExecuteScalarAsync() is int pid ? pid : 0;
    }

    private static TransportMessage Message(string id) => new()
    {
        Destination = OutboxRows.LocalDestination,
        Headers = new Dictionary<string, string>(StringComparer.Ordinal) { [MessageHeaders.MessageId] = id, [MessageHeaders.MessageType] = "pg.test" },
        Body = "{}"u8.ToArray(),
    };

    private sealed class OtherTransaction : DbTransaction
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
