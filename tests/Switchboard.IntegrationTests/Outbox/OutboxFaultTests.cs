using System.Collections.Concurrent;
using System.Data.Common;
using StackExchange.Redis;
using Switchboard.IntegrationTests.EntityFrameworkCore;
using Switchboard.IntegrationTests.Redis;
using Switchboard.IntegrationTests.Worker;
using Switchboard.Outbox;
using Switchboard.Redis;

namespace Switchboard.IntegrationTests.Outbox;

/// <summary>
/// The faults of issue 5, for real, on each outbox store (one derived class per store): a rollback, a process killed after
/// the commit, a process killed between the send and the mark, a transport down while rows pile up, and a database that cannot
/// be reached while a message is consumed with the inbox on. Every test has tables of its own (a table prefix on SQLite, a
/// schema or a database on PostgreSQL), short configured delays, and waits for conditions with a deadline.
/// </summary>
public abstract class OutboxFaultTests : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly string _redisPrefix = RedisServer.NewPrefix();

    /// <summary>Gets the store's name for the worker: <see cref="FaultStores.Sqlite"/> or <see cref="FaultStores.Postgres"/>.</summary>
    protected abstract string Kind { get; }

    /// <summary>Gets the connection string of the test's database.</summary>
    protected abstract string ConnectionString { get; }

    /// <summary>Gets the test's own tables: a table prefix (SQLite) or a schema (PostgreSQL).</summary>
    protected string Space { get; } = "f" + Guid.NewGuid().ToString("N")[..10];

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        for (int i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }

        await RedisServer.DeleteKeysAsync(_redisPrefix);
    }

    /// <summary>Counts the outbox rows (dispatched or not) that carry a message id.</summary>
    protected abstract Task<long> CountOutboxRowsAsync(string messageId);

    /// <summary>Prepares a database (or tables) whose connections a test can cut and give back.</summary>
    protected abstract Task<DatabaseOutage> PrepareOutageAsync();

    [Fact]
    public async Task Rollback_AfterAddingMessage_NeverDispatched()
    {
        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        IMessageBus bus = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-rollback")
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .Handle<FaultEvent>(e => Count(handled, e.Id))
            .UseOutbox(CreateStore(), disposeWithBus: true, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(50);
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            })));
        await ReadyAsync(bus);
        await using DbConnection connection = await OpenAsync();
        await FaultStores.CreateBusinessTableAsync(connection, Kind, Space);

        await using (DbTransaction transaction = await connection.BeginTransactionAsync())
        {
            await FaultStores.InsertBusinessRowAsync(transaction, Kind, Space, "rolled-back");
            await bus.GetOutbox().PublishAsync(transaction, new FaultEvent("rolled-back"), new OutboxMessageOptions { MessageId = "rolled-back" });
            await transaction.RollbackAsync();
        }

        // A committed message behind it: once that one is handled and marked, the dispatcher has read the table after the
        // rollback. The rolled-back message has no row (asserted below), so no later poll can dispatch it, and this
        // process dispatched exactly one message: the committed one.
        await CommitAsync(bus, connection, "committed");
        await WaitUntilAsync(() => handled.ContainsKey("committed"), "the committed message is handled");
        await WaitUntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()).Dispatched >= 1, "the committed message is marked dispatched");

        Assert.False(handled.ContainsKey("rolled-back"), "the rolled-back message was handled");
        Assert.Equal(1, (await bus.GetOutbox().GetStatisticsAsync()).Dispatched);
        Assert.Equal(0, await CountOutboxRowsAsync("rolled-back"));
        Assert.Equal(1, await CountOutboxRowsAsync("committed"));
        Assert.Equal(0, await CountBusinessRowsAsync(connection, "rolled-back"));
        OutboxStatistics stats = await bus.GetOutbox().GetStatisticsAsync();
        Assert.Equal((0, 0), (stats.Pending, stats.Dead));
    }

    [Fact]
    public async Task ProcessKilled_AfterCommitBeforeDispatch_DispatchedOnceAfterRestart()
    {
        const string id = "killed-after-commit";
        await using (OutboxWorkerProcess child = OutboxWorkerProcess.Start("outbox-commit", Kind, ConnectionString, Space, id))
        {
            await child.WaitForLineAsync($"committed {id}", Patience);
            await child.KillAsync();
        }

        // What the killed process left: its business row and its message, committed and pending.
        await using DbConnection connection = await OpenAsync();
        Assert.Equal(1, await CountBusinessRowsAsync(connection, id));
        await using (IOutboxStore probe = CreateStore())
        {
            Assert.Equal(1, (await probe.CountAsync()).Pending);
        }

        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        IMessageBus restarted = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-restarted")
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .Handle<FaultEvent>(e => Count(handled, e.Id))
            .UseOutbox(CreateStore(), disposeWithBus: true, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(100);
                o.LeaseDuration = TimeSpan.FromSeconds(1);
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            })));

        await WaitUntilAsync(() => handled.ContainsKey(id), "the message committed by the killed process is handled after the restart");

        // Once the row is marked dispatched no dispatcher can claim it again: that mark, not a wait, ends the test.
        await WaitUntilAsync(async () => (await restarted.GetOutbox().GetStatisticsAsync()).Pending == 0, "the row is marked dispatched");
        Assert.Equal(1, handled[id]);
        OutboxStatistics stats = await restarted.GetOutbox().GetStatisticsAsync();
        Assert.Equal((0, 0, 1), (stats.Pending, stats.Dead, stats.Dispatched));
    }

    [Fact]
    public async Task ProcessKilled_AfterSendBeforeMark_SentAgain_InboxStopsSecondEffect()
    {
        const string id = "killed-after-send";
        const string destination = "faults";
        await using DbConnection connection = await OpenAsync();
        await FaultStores.CreateBusinessTableAsync(connection, Kind, Space);
        await FaultStores.ExecuteAsync(connection, null, $"CREATE TABLE IF NOT EXISTS {EffectsTable} (id VARCHAR(200) NOT NULL, handled_by VARCHAR(200) NOT NULL)");

        await using (OutboxWorkerProcess child = OutboxWorkerProcess.Start("outbox-sent", Kind, ConnectionString, Space, RedisServer.ConnectionString, _redisPrefix, destination, id))
        {
            await child.WaitForLineAsync($"sent {id}", Patience);
            await child.KillAsync();
        }

        // Redis has the message once; the row is still pending, leased by a process that no longer exists.
        Assert.Equal(1, await CountInStreamAsync(RedisServer.ConnectionString, destination, id));
        await using (IOutboxStore probe = CreateStore())
        {
            Assert.Equal(1, (await probe.CountAsync()).Pending);
        }

        IMessageBus dispatcher = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-dispatcher")
            .UseRedis(RedisOptions(RedisServer.ConnectionString))
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .RouteToTransport<FaultEvent>(destination)
            .UseOutbox(CreateStore(), disposeWithBus: true, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(100);
                o.LeaseDuration = TimeSpan.FromSeconds(1);
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            })));
        await WaitUntilAsync(async () => await CountInStreamAsync(RedisServer.ConnectionString, destination, id) == 2, "the row is sent again once the dead process's lease ended");
        await WaitUntilAsync(async () => (await dispatcher.GetOutbox().GetStatisticsAsync()).Pending == 0, "the row is marked dispatched");

        // A consumer with the inbox on, on the same database: both copies arrive, one has an effect.
        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        IMessageBus consumer = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-consumer")
            .UseRedis(RedisOptions(RedisServer.ConnectionString))
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .RouteToTransport<FaultEvent>(destination)
            .Handle<FaultEvent>(async (e, context, ct) =>
            {
                Assert.NotNull(context.Transaction);
                await InsertEffectAsync(context.Transaction!, e.Id, "fault-consumer");
                Count(handled, e.Id);
            })
            .UseOutbox(CreateStore(), disposeWithBus: true, o => o.RunDispatcher = false)));

        await WaitUntilAsync(async () => (await consumer.GetOutbox().GetStatisticsAsync()).DuplicatesSkipped == 1, "the second copy is recognized as a duplicate");
        await WaitUntilAsync(async () => await PendingInGroupAsync(RedisServer.ConnectionString, destination, "fault-consumer") == 0, "both copies are acknowledged");
        Assert.Equal(1, handled[id]);
        Assert.Equal(1, await CountEffectsAsync(connection, id));
        Assert.Equal(2, await CountInStreamAsync(RedisServer.ConnectionString, destination, id));
    }

    [Fact]
    public async Task TransportDown_WhileRowsPileUp_NothingLost_EachKeyInOrder()
    {
        const string destination = "pile";
        const int keys = 5;
        const int perKey = 60;
        await using RedisProcess redis = new();
        await redis.StartAsync();
        // The dispatcher's connection gives up on a command after 500 ms: attempts fail quickly while Redis is down.
        string redisConnection = redis.ConnectionString + ",connectTimeout=500,asyncTimeout=500";
        IMessageBus bus = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-pile")
            .UseRedis(RedisOptions(redisConnection))
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .RouteToTransport<FaultEvent>(destination)
            .UseOutbox(CreateStore(), disposeWithBus: true, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(100);
                o.LeaseDuration = TimeSpan.FromSeconds(2);
                o.BatchSize = 50;
                o.Retry.MaxAttempts = 3;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
                o.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
            })));
        await ReadyAsync(bus);
        await using DbConnection connection = await OpenAsync();
        await FaultStores.CreateBusinessTableAsync(connection, Kind, Space);

        // The dispatcher reaches the transport before it goes down.
        await CommitAsync(bus, connection, "before-outage");
        await WaitUntilAsync(async () => await CountInStreamAsync(redis.ConnectionString, destination, "before-outage") == 1, "the first message reaches Redis");
        await WaitUntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()).Pending == 0, "the first message is marked dispatched");
        await redis.KillAsync();

        // 300 messages over 5 keys, interleaved, in transactions of 10, while the transport is down.
        List<string> written = [];
        for (int batch = 0; batch < keys * perKey / 10; batch++)
        {
            await using DbTransaction transaction = await connection.BeginTransactionAsync();
            for (int i = 0; i < 10; i++)
            {
                int n = (batch * 10) + i;
                string key = $"key-{n % keys}";
                string id = $"{key}-{n / keys:D3}";
                await bus.GetOutbox().PublishAsync(transaction, new FaultEvent(id), new OutboxMessageOptions { MessageId = id, PartitionKey = key });
                written.Add(id);
            }

            await transaction.CommitAsync();
        }

        // Down: attempts fail past Retry.MaxAttempts, yet nothing is parked dead and nothing leaves the outbox.
        OutboxStatistics down = await bus.GetOutbox().GetStatisticsAsync();
        // More failed attempts than Retry.MaxAttempts (3) is the signal: a dispatcher that parks rows would have done so.
        DateTime until = DateTime.UtcNow + Patience;
        while (down.Failed <= 3)
        {
            Assert.True(DateTime.UtcNow < until, $"attempts did not fail while the transport was down: {down}");
            await Task.Delay(100);
            down = await bus.GetOutbox().GetStatisticsAsync();
            Assert.Equal(keys * perKey, down.Pending);
            Assert.Equal(0, down.Dead);
        }

        await redis.StartAsync();
        await WaitUntilAsync(async () => (await bus.GetOutbox().GetStatisticsAsync()).Pending == 0, "the backlog is dispatched when the transport returns");

        List<string> arrived = await ReadStreamIdsAsync(redis.ConnectionString, destination);
        List<string> missing = [.. written.Where(w => !arrived.Contains(w))];
        Assert.True(missing.Count == 0, $"{missing.Count} messages missing, first {string.Join(", ", missing.Take(5))}");
        for (int k = 0; k < keys; k++)
        {
            string key = $"key-{k}-";
            List<string> order = [.. arrived.Where(a => a.StartsWith(key, StringComparison.Ordinal)).Distinct()];
            List<string> expected = [.. written.Where(w => w.StartsWith(key, StringComparison.Ordinal))];
            Assert.Equal(expected, order);
        }

        OutboxStatistics after = await bus.GetOutbox().GetStatisticsAsync();
        Assert.Equal((0, 0), (after.Pending, after.Dead));
    }

    [Fact]
    public async Task DatabaseUnreachable_DuringConsumeWithInbox_NotAcknowledged_HandledOnceWhenItReturns()
    {
        const string destination = "inbox";
        const string group = "fault-inbox";
        await using DatabaseOutage outage = await PrepareOutageAsync();
        await using (DbConnection setup = await FaultStores.OpenAsync(Kind, outage.ConnectionString))
        {
            await FaultStores.CreateBusinessTableAsync(setup, Kind, Space);
            await FaultStores.ExecuteAsync(setup, null, $"CREATE TABLE IF NOT EXISTS {EffectsTable} (id VARCHAR(200) NOT NULL, handled_by VARCHAR(200) NOT NULL)");
        }

        ConcurrentDictionary<string, int> handled = new(StringComparer.Ordinal);
        ConcurrentQueue<string> log = new();
        IMessageBus consumer = Track(MessageBus.Create(b => b
            .UseLoggerFactory(new ListLoggerFactory(log))
            .Configure(o =>
            {
                o.Name = group;
                o.Retry.MaxAttempts = 2;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            })
            .UseRedis(RedisOptions(RedisServer.ConnectionString))
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .RouteToTransport<FaultEvent>(destination)
            .Handle<FaultEvent>(async (e, context, ct) =>
            {
                await InsertEffectAsync(context.Transaction!, e.Id, group);
                Count(handled, e.Id);
            })
            .UseOutbox(FaultStores.Create(Kind, outage.ConnectionString, Space, sqliteBusyTimeout: TimeSpan.FromMilliseconds(100)), disposeWithBus: true, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(100);
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
            })));
        IMessageBus sender = Track(MessageBus.Create(b => b
            .Configure(o => o.Name = "fault-sender")
            .UseRedis(RedisOptions(RedisServer.ConnectionString))
            .AddMessageType<FaultEvent>(FaultEvent.WireName)
            .RouteToTransport<FaultEvent>(destination)));

        await sender.PublishAsync(new FaultEvent("before-outage"));
        await WaitUntilAsync(() => handled.ContainsKey("before-outage"), "a message is handled while the database is up");
        await WaitUntilAsync(async () => await PendingInGroupAsync(RedisServer.ConnectionString, destination, group) == 0, "it is committed and acknowledged");

        await outage.BreakAsync();
        await sender.PublishAsync(new FaultEvent("during-outage"));

        // Delivered, held unacknowledged, not handled, not dead-lettered, though the bus allows only 2 attempts.
        await WaitUntilAsync(async () => await PendingInGroupAsync(RedisServer.ConnectionString, destination, group) == 1, "the message is delivered to the consumer");
        // The signal: the consumer logged the inbox's database unreachable more times than the bus allows attempts (2), and
        // still holds the message: a consumer that spent attempts on the outage would have dead-lettered it after the second.
        await WaitUntilAsync(
            () => log.Count(l => l.Contains("the database is unreachable; message", StringComparison.Ordinal)) > 2,
            "the consumer tries the inbox's database more times than the bus allows attempts");
        Assert.False(handled.ContainsKey("during-outage"), "handled while its database was unreachable");
        Assert.Equal(1, await PendingInGroupAsync(RedisServer.ConnectionString, destination, group));
        Assert.Equal(0, await DeadLetterCountAsync(destination, group));

        await outage.RestoreAsync();
        await WaitUntilAsync(() => handled.ContainsKey("during-outage"), "the message is handled when the database returns");
        await WaitUntilAsync(async () => await PendingInGroupAsync(RedisServer.ConnectionString, destination, group) == 0, "the message is acknowledged");
        // Acknowledged by this consumer (the bus counted it): Redis will not deliver it again, so the count is final.
        await WaitUntilAsync(() => consumer.GetStatistics().Transports["redis"].Acknowledged == 2, "the bus counted the acknowledgement");
        Assert.Equal(1, handled["during-outage"]);
        Assert.Equal(0, await DeadLetterCountAsync(destination, group));

        // The outage spent no attempt of the message: it was held, not retried through the transport, not dead-lettered.
        TransportStatistics transport = consumer.GetStatistics().Transports["redis"];
        Assert.Equal((0, 0, 2), (transport.Retried, transport.DeadLettered, transport.Acknowledged));
        await using DbConnection check = await FaultStores.OpenAsync(Kind, outage.ConnectionString);
        Assert.Equal(1, await CountEffectsAsync(check, "during-outage"));
    }

    /// <summary>
    /// Waits until the bus's store set the database up (tables created, and on SQLite the file switched to WAL), as an
    /// application's start does, before the test's transactions take the write lock.
    /// </summary>
    protected static async Task ReadyAsync(IMessageBus bus) => await bus.GetOutbox().GetStatisticsAsync();

    protected string EffectsTable => Kind == FaultStores.Postgres ? $"{Space}.effects" : $"{Space}effects";

    protected IOutboxStore CreateStore() => FaultStores.Create(Kind, ConnectionString, Space);

    protected Task<DbConnection> OpenAsync() => FaultStores.OpenAsync(Kind, ConnectionString);

    protected void Defer(IAsyncDisposable disposable) => _cleanup.Add(disposable);

    protected static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {Patience.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {Patience.TotalSeconds} s: {what}");
            await Task.Delay(50);
        }
    }

    protected static async Task<long> ScalarAsync(DbConnection connection, string sql, string id)
    {
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private IMessageBus Track(IMessageBus bus)
    {
        _cleanup.Add(bus);
        return bus;
    }

    private static void Count(ConcurrentDictionary<string, int> handled, string id) => handled.AddOrUpdate(id, 1, static (_, n) => n + 1);

    private async Task CommitAsync(IMessageBus bus, DbConnection connection, string id)
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        await FaultStores.InsertBusinessRowAsync(transaction, Kind, Space, id);
        await bus.GetOutbox().PublishAsync(transaction, new FaultEvent(id), new OutboxMessageOptions { MessageId = id });
        await transaction.CommitAsync();
    }

    private Task<long> CountBusinessRowsAsync(DbConnection connection, string id)
        => ScalarAsync(connection, $"SELECT COUNT(*) FROM {FaultStores.BusinessTable(Kind, Space)} WHERE id = @id", id);

    private Task<long> CountEffectsAsync(DbConnection connection, string id)
        => ScalarAsync(connection, $"SELECT COUNT(*) FROM {EffectsTable} WHERE id = @id", id);

    private async Task InsertEffectAsync(DbTransaction transaction, string id, string by)
    {
        await using DbCommand command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO {EffectsTable} (id, handled_by) VALUES (@id, @by)";
        DbParameter idParameter = command.CreateParameter();
        idParameter.ParameterName = "id";
        idParameter.Value = id;
        command.Parameters.Add(idParameter);
        DbParameter byParameter = command.CreateParameter();
        byParameter.ParameterName = "by";
        byParameter.Value = by;
        command.Parameters.Add(byParameter);
        await command.ExecuteNonQueryAsync();
    }

    private RedisTransportOptions RedisOptions(string connectionString) => new()
    {
        ConnectionString = connectionString,
        StreamPrefix = _redisPrefix,
        BlockTime = TimeSpan.FromMilliseconds(50),
    };

    private async Task<List<string>> ReadStreamIdsAsync(string redis, string destination)
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis);
        StreamEntry[] entries = await connection.GetDatabase().StreamRangeAsync($"{_redisPrefix}:{destination}");
        return [.. entries.Select(e => e["h:ce-id"].ToString())];
    }

    private async Task<int> CountInStreamAsync(string redis, string destination, string id)
        => (await ReadStreamIdsAsync(redis, destination)).Count(e => e == id);

    private async Task<long> PendingInGroupAsync(string redis, string destination, string group)
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis);
        IDatabase db = connection.GetDatabase();
        string stream = $"{_redisPrefix}:{destination}";
        if (!await db.KeyExistsAsync(stream))
        {
            return 0;
        }

        StreamPendingInfo pending = await db.StreamPendingAsync(stream, group);
        return pending.PendingMessageCount;
    }

    /// <summary>Counts the group's dead letters (the Redis transport keeps them in a stream of their own).</summary>
    private async Task<long> DeadLetterCountAsync(string destination, string group)
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(RedisServer.ConnectionString);
        return await connection.GetDatabase().StreamLengthAsync($"{_redisPrefix}:{destination}:{group}:dlq");
    }
}

/// <summary>A database (or tables) whose connections a test cuts and gives back.</summary>
public abstract class DatabaseOutage : IAsyncDisposable
{
    /// <summary>Gets the connection string of the database to cut.</summary>
    public abstract string ConnectionString { get; }

    /// <summary>Makes the database unreachable for the store: new connections fail, open ones are cut or blocked.</summary>
    public abstract Task BreakAsync();

    /// <summary>Gives the database back.</summary>
    public abstract Task RestoreAsync();

    public abstract ValueTask DisposeAsync();
}
