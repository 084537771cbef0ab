using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Switchboard.Sqlite;
using Switchboard.Transport;

namespace Switchboard.Outbox.Tests.Sqlite;

/// <summary>The first moments of a SQLite outbox, and a dead row's effect on the rest of its key.</summary>
public sealed class SqliteOutboxStartupTests : IDisposable
{
    private readonly TemporaryDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task PublishAsync_InTheApplicationsFirstTransaction_OnANewDatabase_DoesNotWaitForTheWriteLock()
    {
        // The application's transaction writes first and so holds SQLite's only write lock; creating the tables on another
        // connection then would wait for it until the busy timeout. UseSqliteOutbox creates them at configuration instead.
        TaskCompletionSource handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<StartupEvent>(_ => handled.TrySetResult())
            .UseSqliteOutbox(new SqliteOutboxStoreOptions { ConnectionString = _database.ConnectionString, BusyTimeout = TimeSpan.FromSeconds(5) }));

        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        Stopwatch elapsed = Stopwatch.StartNew();
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            using (SqliteCommand business = connection.CreateCommand())
            {
                business.Transaction = transaction;
                business.CommandText = "CREATE TABLE orders (id TEXT PRIMARY KEY); INSERT INTO orders VALUES ('ord-1');";
                await business.ExecuteNonQueryAsync();
            }

            await bus.GetOutbox().PublishAsync(transaction, new StartupEvent("ord-1"));
            await transaction.CommitAsync();
        }

        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"writing took {elapsed.Elapsed}: it waited for the write lock");
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void UseSqliteOutbox_OnADatabaseThatCannotBeOpened_FailsAtConfiguration()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"switchboard-no-such-dir-{Guid.NewGuid():N}", "app.db");

        Assert.ThrowsAny<SqliteException>(() => MessageBus.Create(b => b.UseSqliteOutbox($"Data Source={missing};Mode=ReadWrite")));
    }

    [Fact]
    public async Task UseSqliteOutbox_WithCreateSchemaOff_LeavesTheDatabaseAlone()
    {
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<StartupEvent>(_ => { })
            .UseSqliteOutbox(_database.ConnectionString, o => { o.CreateSchema = false; o.RunDispatcher = false; }));

        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        using SqliteCommand tables = connection.CreateCommand();
        tables.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'switchboard_%'";
        Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task RowsAfterADeadRowOfTheirKey_AreDispatchedAtOnce_NotAfterAPollInterval()
    {
        ConcurrentQueue<int> handled = new();
        TaskCompletionSource both = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b
            .Handle<KeyedStartupEvent>(e =>
            {
                handled.Enqueue(e.Seq);
                if (handled.Count == 2)
                {
                    both.TrySetResult();
                }
            })
            .UseSqliteOutbox(_database.ConnectionString, o => o.PollInterval = TimeSpan.FromSeconds(30)));
        IOutbox outbox = bus.GetOutbox();

        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        Stopwatch elapsed = Stopwatch.StartNew();
        await using (SqliteTransaction transaction = connection.BeginTransaction())
        {
            // A row no bus can read (its type name is not registered) comes first in key k: it is parked dead at once.
            await outbox.Store.AddAsync(transaction, [new TransportMessage
            {
                Destination = OutboxRows.LocalDestination,
                Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "poison", [MessageHeaders.MessageType] = "no.such.type" },
                Body = "{}"u8.ToArray(),
                PartitionKey = "k",
            }]);
            await outbox.PublishAsync(transaction, new KeyedStartupEvent(1), new OutboxMessageOptions { PartitionKey = "k" });
            await outbox.PublishAsync(transaction, new KeyedStartupEvent(2), new OutboxMessageOptions { PartitionKey = "k" });
            await transaction.CommitAsync();
        }

        await both.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"the rows after the dead one waited {elapsed.Elapsed}");
        Assert.Equal([1, 2], handled.ToArray());
        DeadLetterMessage dead = Assert.Single(await outbox.DeadLetters.ListAsync());
        Assert.Contains("no.such.type", dead.Reason.Reason, StringComparison.Ordinal);
    }
}

public sealed record StartupEvent(string OrderId);

public sealed record KeyedStartupEvent(int Seq);
