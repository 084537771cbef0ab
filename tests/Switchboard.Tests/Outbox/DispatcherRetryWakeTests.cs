using System.Data;
using System.Data.Common;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Tests.Outbox;

/// <summary>
/// A row given back for a retry is retried when it is due, even when something wakes the dispatcher before that (a commit,
/// a spurious notification): the early claim finds nothing, and the dispatcher must not then forget the retry and sleep a
/// whole poll interval.
/// </summary>
public sealed class DispatcherRetryWakeTests
{
    [Fact]
    public async Task A_wake_before_a_retry_is_due_does_not_delay_the_retry_to_the_next_poll()
    {
        WakingStore store = new();
        int attempts = 0;
        TaskCompletionSource retried = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<Flaky>(_ =>
            {
                if (Interlocked.Increment(ref attempts) == 1)
                {
                    throw new InvalidOperationException("first attempt fails");
                }

                retried.TrySetResult();
            });
            b.UseOutbox(store, o =>
            {
                o.UseInbox = false;
                o.PollInterval = TimeSpan.FromSeconds(30); // only the retry time can bring the row back in this test
                o.Retry.InitialDelay = TimeSpan.FromSeconds(1); // long enough that the wake below surely comes first
                o.Retry.Jitter = false;
            });
        });

        await bus.GetOutbox().PublishAsync(new NoTransaction(), new Flaky());
        store.Committed();

        Task done = await Task.WhenAny(retried.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(done == retried.Task, $"the retry did not run within 10 s ({Volatile.Read(ref attempts)} attempt(s), {store.Claims} claims)");
        Assert.True(store.EarlyClaims > 0, $"the test must wake the dispatcher before the retry is due ({store.Claims} claims, {Volatile.Read(ref attempts)} attempts)");
    }

    public sealed record Flaky;

    /// <summary>Rows in memory; wakes the dispatcher again right after a row is given back for a retry, before it is due.</summary>
    private sealed class WakingStore : IOutboxStore
    {
        private readonly Lock _gate = new();
        private readonly List<(long Id, TransportMessage Message, DateTimeOffset? NotBefore, bool Leased, bool Done, int Attempts)> _rows = [];
        private Action? _committed;
        private int _claims;
        private int _earlyClaims;

        public string Name => "waking";

        public int Claims => Volatile.Read(ref _claims);

        public int EarlyClaims => Volatile.Read(ref _earlyClaims);

        public void Committed() => _committed?.Invoke();

        public ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default) => default;

        public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                foreach (TransportMessage message in messages)
                {
                    _rows.Add((_rows.Count + 1, message, null, false, false, 0));
                }
            }

            return default;
        }

        public ValueTask<IAsyncDisposable> ListenAsync(Action committed, CancellationToken cancellationToken = default)
        {
            _committed = committed;
            return ValueTask.FromResult<IAsyncDisposable>(new Stop());
        }

        public ValueTask<IReadOnlyList<OutboxMessage>> ClaimAsync(OutboxClaim claim, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _claims);
            List<OutboxMessage> claimed = [];
            lock (_gate)
            {
                for (int i = 0; i < _rows.Count && claimed.Count < claim.BatchSize; i++)
                {
                    var row = _rows[i];
                    if (row.Done || row.Leased)
                    {
                        continue;
                    }

                    if (row.NotBefore is { } notBefore && notBefore > claim.Now)
                    {
                        Interlocked.Increment(ref _earlyClaims);
                        continue;
                    }

                    _rows[i] = row with { Leased = true };
                    claimed.Add(new OutboxMessage { Id = row.Id, Message = row.Message, CreatedAt = claim.Now, Attempts = row.Attempts });
                }
            }

            return ValueTask.FromResult<IReadOnlyList<OutboxMessage>>(claimed);
        }

        public ValueTask MarkDispatchedAsync(IReadOnlyList<long> ids, DateTimeOffset dispatchedAt, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                for (int i = 0; i < _rows.Count; i++)
                {
                    if (ids.Contains(_rows[i].Id))
                    {
                        _rows[i] = _rows[i] with { Done = true, Leased = false };
                    }
                }
            }

            return default;
        }

        public ValueTask ReleaseAsync(long id, string? failure, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                int i = _rows.FindIndex(r => r.Id == id);
                _rows[i] = _rows[i] with { Leased = false, NotBefore = notBefore, Attempts = _rows[i].Attempts + (failure is null ? 0 : 1) };
            }

            // Something else was committed meanwhile: the dispatcher wakes before this row is due.
            _ = Task.Run(async () =>
            {
                await Task.Delay(20);
                Committed();
            });
            return default;
        }

        public ValueTask MarkDeadAsync(long id, DeadLetterReason reason, DateTimeOffset deadAt, CancellationToken cancellationToken = default) => default;

        public ValueTask<IReadOnlyList<OutboxMessage>> ListDeadAsync(int count, CancellationToken cancellationToken = default) => ValueTask.FromResult<IReadOnlyList<OutboxMessage>>([]);

        public ValueTask<int> ReviveDeadAsync(long? id, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<bool> DeleteDeadAsync(long id, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

        public ValueTask<int> DeleteExpiredAsync(DateTimeOffset dispatchedBefore, DateTimeOffset processedBefore, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<OutboxCounts> CountAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(new OutboxCounts(0, 0, null));

        public ValueTask<bool> TryRecordProcessedAsync(DbTransaction transaction, string consumer, string messageId, DateTimeOffset processedAt, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(true);

        public ValueTask DisposeAsync() => default;

        private sealed class Stop : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => default;
        }
    }

    /// <summary>The store above ignores transactions; the outbox only needs one to pass on.</summary>
    private sealed class NoTransaction : DbTransaction
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
