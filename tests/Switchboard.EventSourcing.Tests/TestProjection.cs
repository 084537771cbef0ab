using System.Collections.Concurrent;
using System.Data.Common;

namespace Switchboard.EventSourcing.Tests;

/// <summary>
/// A read model of one row per event (its position is the key, so a second effect of one event fails): written in the
/// batch's transaction on a database store, in a list in memory.
/// </summary>
public sealed class TestProjection(string name, string? table) : ICatchUpProjection
{
    private readonly ConcurrentQueue<long> _memory = new();
    private int _attempts;

    public string Name => name;

    /// <summary>Gets or sets a position at which the handler throws.</summary>
    public long FailAt { get; set; } = -1;

    public int Attempts => Volatile.Read(ref _attempts);

    public ConcurrentQueue<long> InMemory => _memory;

    public async ValueTask HandleAsync(StoredEvent @event, ProjectionContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        if (table is not null)
        {
            DbTransaction transaction = context.Transaction ?? throw new InvalidOperationException("a database store gives the projection its transaction");
            await ExecuteAsync(transaction, $"INSERT INTO {table} (position, stream_id) VALUES ({@event.Position}, '{@event.StreamId}')");
        }
        else
        {
            _memory.Enqueue(@event.Position);
        }

        if (@event.Position == FailAt)
        {
            throw new InvalidOperationException($"projection fails at {@event.Position}");
        }
    }

    public async ValueTask ResetAsync(ProjectionContext context, CancellationToken cancellationToken)
    {
        if (table is not null)
        {
            await ExecuteAsync(context.Transaction!, $"DELETE FROM {table}");
        }
        else
        {
            _memory.Clear();
        }
    }

    private static async Task ExecuteAsync(DbTransaction transaction, string sql)
    {
        await using DbCommand command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
