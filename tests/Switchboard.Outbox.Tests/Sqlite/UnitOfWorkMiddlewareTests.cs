using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Switchboard.Outbox.Tests.Sqlite;

public sealed record UwPlaceOrder(string Id);
public sealed record UwOrderPlaced(string Id);

/// <summary>The unit-of-work middleware on a real SQLite database with the outbox: data and cascaded events commit or roll back together.</summary>
public sealed class UnitOfWorkMiddlewareTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly TemporaryDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_handler_runs_in_the_unit_of_work_its_data_and_cascaded_events_commit_together_or_not_at_all()
    {
        await ExecuteAsync("CREATE TABLE orders (id TEXT PRIMARY KEY)");
        ConcurrentQueue<string> placed = new();
        TaskCompletionSource lastPlaced = new(TaskCreationOptions.RunContinuationsAsynchronously);
        bool sawTransaction = false;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseSqliteOutbox(_database.ConnectionString)
            .UseUnitOfWork(async (context, ct) =>
            {
                SqliteConnection connection = new(_database.ConnectionString);
                await connection.OpenAsync(ct);
                return (DbTransaction)await connection.BeginTransactionAsync(ct);
            }, appliesTo: typeof(UwPlaceOrder))
            .Handle<UwPlaceOrder>(async (order, context, ct) =>
            {
                sawTransaction = context.Transaction is not null;
                await using DbCommand insert = context.Transaction!.Connection!.CreateCommand();
                insert.Transaction = context.Transaction;
                insert.CommandText = "INSERT INTO orders (id) VALUES ($id)";
                insert.Parameters.Add(new SqliteParameter("$id", order.Id));
                await insert.ExecuteNonQueryAsync(ct);
                await context.PublishAsync(new UwOrderPlaced(order.Id), ct); // written in the same transaction
                if (order.Id.StartsWith("fail", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("payment declined");
                }
            })
            .Handle<UwOrderPlaced>(e =>
            {
                placed.Enqueue(e.Id);
                if (e.Id == "ok-2")
                {
                    lastPlaced.TrySetResult();
                }
            }));

        await bus.SendAsync(new UwPlaceOrder("ok-1"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new UwPlaceOrder("fail-1")));
        await bus.SendAsync(new UwPlaceOrder("ok-2"));
        await lastPlaced.Task.WaitAsync(Patience);

        Assert.True(sawTransaction);
        Assert.Equal(["ok-1", "ok-2"], await OrderIdsAsync());
        Assert.Contains("ok-1", placed);
        Assert.DoesNotContain("fail-1", placed);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<List<string>> OrderIdsAsync()
    {
        await using SqliteConnection connection = new(_database.ConnectionString);
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM orders ORDER BY id";
        List<string> ids = [];
        await using SqliteDataReader reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
