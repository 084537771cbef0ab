using Switchboard.Operations;
using Switchboard.Transport;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// Holds every replay and delete of a real dead-letter queue until the test lets it through, one permit per message, so a
/// test can watch a bulk job in the middle. The queue underneath (Redis here) does the work; nothing is faked.
/// </summary>
public sealed class Gate
{
    private readonly SemaphoreSlim _permits = new(0);

    public void Release(int count) => _permits.Release(count);

    /// <summary>Wraps every source's dead letters (ids unchanged) so that each replay or delete waits for a permit.</summary>
    public SwitchboardOperations Wrap(SwitchboardOperations operations)
        => new(operations.Sources.Select(s => new OperationsSource(s.Transport, s.Destination, s.ConsumerGroup, new GatedQueue(s.DeadLetters, this), s.Inspect)));

    private sealed class GatedQueue(IDeadLetterQueue inner, Gate gate) : IDeadLetterQueue
    {
        public ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default) => inner.ListAsync(count, cancellationToken);

        public ValueTask<long> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);

        public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
        {
            await gate._permits.WaitAsync(cancellationToken);
            return await inner.ReplayAsync(id, cancellationToken);
        }

        public ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default) => inner.ReplayAllAsync(cancellationToken);

        public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        {
            await gate._permits.WaitAsync(cancellationToken);
            return await inner.DeleteAsync(id, cancellationToken);
        }
    }
}
