using System.Data.Common;
using Microsoft.Data.Sqlite;
using Switchboard.Outbox;
using Switchboard.Sqlite;
using Switchboard.Transport;

namespace Switchboard.EntityFrameworkCore.Tests;

/// <summary>
/// The SQLite store (Switchboard.Sqlite) on a test's own file, counting the connections it opens: the EF Core path must not
/// need one of its own.
/// </summary>
internal sealed class CountingStore(string connectionString) : IOutboxStore
{
    private readonly SqliteOutboxStore _inner = new(new SqliteOutboxStoreOptions { ConnectionString = connectionString, BusyTimeout = TimeSpan.FromSeconds(10) });
    private int _opened;
    private int _claims;

    public string Name => _inner.Name;

    public int ConnectionsOpened => Volatile.Read(ref _opened);

    /// <summary>Gets how many claims ran: a background dispatcher claims for the first time after it started listening.</summary>
    public int Claims => Volatile.Read(ref _claims);

    public ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default) => _inner.EnsureSchemaAsync(cancellationToken);

    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opened);
        return _inner.OpenConnectionAsync(cancellationToken);
    }

    public ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default)
        => _inner.AddAsync(transaction, messages, cancellationToken);

    public ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default) => _inner.ListenAsync(committed, cancellationToken);

    public ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _claims);
        return _inner.ClaimAsync(claim, cancellationToken);
    }

    public ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default)
        => _inner.MarkDispatchedAsync(ids, dispatchedAt, cancellationToken);

    public ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
        => _inner.ReleaseAsync(id, failure, notBefore, cancellationToken);

    public ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default)
        => _inner.MarkDeadAsync(id, reason, deadAt, cancellationToken);

    public ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default) => _inner.ListDeadAsync(count, cancellationToken);

    public ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default) => _inner.ReviveDeadAsync(id, cancellationToken);

    public ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default) => _inner.DeleteDeadAsync(id, cancellationToken);

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
        => _inner.DeleteExpiredAsync(dispatchedBefore, processedBefore, cancellationToken);

    public ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default) => _inner.CountAsync(cancellationToken);

    public ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
        => _inner.TryRecordProcessedAsync(transaction, consumer, messageId, processedAt, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>Runs a query on a connection of the test's own, outside any transaction under test.</summary>
    public async ValueTask<long> ScalarAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = new(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}
