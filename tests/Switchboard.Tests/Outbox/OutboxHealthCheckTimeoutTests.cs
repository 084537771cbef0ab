using System.Data.Common;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Tests.Outbox;

/// <summary>
/// The outbox health check answers within its own timeout, even when the database client does not give up on its own
/// (Npgsql over a stalled network holds a command in its synchronous cancel request for its timeouts added up).
/// </summary>
public sealed class OutboxHealthCheckTimeoutTests
{
    [Fact]
    public async Task A_database_that_does_not_answer_is_reported_unhealthy_after_the_health_check_timeout()
    {
        StalledStore store = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseOutbox(store, o =>
            {
                o.RunDispatcher = false;
                o.CreateSchema = false;
                o.HealthCheckTimeout = TimeSpan.FromMilliseconds(200);
            }));
        try
        {
            // The outer bound only turns a check that never answers into a failure instead of a hung test run.
            HealthCheckResult result = await new OutboxHealthCheck(bus.GetOutbox()).CheckHealthAsync(new HealthCheckContext()).WaitAsync(TimeSpan.FromSeconds(30));

            // Still stalled when the check answered: the answer came from the timeout, not from the store giving up.
            Assert.False(store.Released);
            Assert.True(store.Counting);
            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.Equal("The outbox database (stalled) did not answer within 0.2 s.", result.Description);
        }
        finally
        {
            store.Release();
        }
    }

    [Fact]
    public async Task The_caller_cancelling_the_check_is_not_reported_as_a_timeout()
    {
        StalledStore store = new();
        await using IMessageBus bus = MessageBus.Create(b => b.UseOutbox(store, o => { o.RunDispatcher = false; o.CreateSchema = false; }));
        using CancellationTokenSource cancel = new();
        try
        {
            Task<HealthCheckResult> check = new OutboxHealthCheck(bus.GetOutbox()).CheckHealthAsync(new HealthCheckContext(), cancel.Token);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => check);
        }
        finally
        {
            store.Release();
        }
    }

    [Fact]
    public void A_health_check_timeout_that_is_not_positive_fails_the_build()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b => b
            .UseOutbox(new StalledStore(), o => o.HealthCheckTimeout = TimeSpan.Zero)));
        Assert.Contains("HealthCheckTimeout", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A store whose count never answers until released, and ignores cancellation meanwhile.</summary>
    private sealed class StalledStore : IOutboxStore
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _counting;

        public string Name => "stalled";

        public bool Released => _released.Task.IsCompleted;

        public bool Counting => Volatile.Read(ref _counting) > 0;

        public void Release() => _released.TrySetResult();

        public async ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _counting);
            await _released.Task.ConfigureAwait(false);
            return new OutboxCounts(0, 0, null);
        }

        public ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default) => default;

        public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
            => ValueTask.FromResult<IReadOnlyList<OutboxMessage>>([]);

        public ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default) => default;

        public ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default) => default;

        public ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default) => default;

        public ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default) => ValueTask.FromResult<IReadOnlyList<OutboxMessage>>([]);

        public ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

        public ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(true);

        public ValueTask DisposeAsync() => default;
    }
}
