using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Switchboard.EventSourcing;

/// <summary>
/// Runs one <see cref="ICatchUpProjection"/>: from its checkpoint to the end of the store, then following new events as they
/// are appended; <see cref="RebuildAsync"/> starts it over from position 0.
/// </summary>
/// <remarks>
/// Run one runner per projection name at a time (one process): two would both apply each event. A failing event stops the
/// projection there, with <see cref="LastError"/> set, and is retried after <see cref="CatchUpProjectionOptions.RetryDelay"/>;
/// it is never skipped.
/// </remarks>
public sealed partial class CatchUpProjectionRunner : IDisposable
{
    private readonly IEventStore _store;
    private readonly RelationalEventStore? _relational;
    private readonly ICatchUpProjection _projection;
    private readonly CatchUpProjectionOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _waitersGate = new();
    private readonly List<(long Position, TaskCompletionSource Done)> _waiters = [];
    private long _position = -1;
    private volatile Exception? _lastError;

    /// <summary>Initializes a new instance of the <see cref="CatchUpProjectionRunner"/> class.</summary>
    /// <param name="store">The event store it reads and keeps the checkpoint in.</param>
    /// <param name="projection">The projection.</param>
    /// <param name="options">Batch size and waits; the defaults when <see langword="null"/>.</param>
    /// <param name="logger">Where failures are logged.</param>
    public CatchUpProjectionRunner(IEventStore store, ICatchUpProjection projection, CatchUpProjectionOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(projection);
        ArgumentException.ThrowIfNullOrWhiteSpace(projection.Name, nameof(projection));
        options ??= new CatchUpProjectionOptions();
        options.Validate();
        _store = store;
        _relational = store as RelationalEventStore;
        _projection = projection;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the projection.</summary>
    public ICatchUpProjection Projection => _projection;

    /// <summary>Gets the position of the last event the projection committed, or -1 before the checkpoint was read.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>Gets the failure of the last batch, or <see langword="null"/> once a batch succeeded again.</summary>
    public Exception? LastError => _lastError;

    /// <summary>Handles every event after the checkpoint, batch by batch, until the end of the store.</summary>
    /// <param name="cancellationToken">Stops after the current batch.</param>
    /// <returns>How many events were handled.</returns>
    /// <exception cref="EventStoreReadException">A stored event cannot be read: the projection stops before it.</exception>
    public async ValueTask<int> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        int handled = 0;
        while (true)
        {
            int batch = await RunBatchAsync(cancellationToken).ConfigureAwait(false);
            handled += batch;
            if (batch < _options.BatchSize)
            {
                return handled;
            }
        }
    }

    /// <summary>Empties the read model and resets the checkpoint to 0 in one transaction, then catches up from the first event.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many events were handled.</returns>
    public async ValueTask<int> RebuildAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await InTransactionAsync(
                async context =>
                {
                    await _projection.ResetAsync(context, cancellationToken).ConfigureAwait(false);
                    return 0L;
                },
                cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _position, 0);
        }
        finally
        {
            _gate.Release();
        }

        return await CatchUpAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Catches up, then follows new events until cancelled; failures are logged and retried, never skipped.</summary>
    /// <param name="cancellationToken">Stops it.</param>
    /// <returns>A task that completes when it stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using IDisposable subscription = _store.OnAppended(() => _wake.Writer.TryWrite(true));
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait = _options.PollInterval;
            try
            {
                await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.BatchFailed(_logger, ex, _projection.Name, Position);
                wait = _options.RetryDelay;
            }

            try
            {
                using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(wait);
                await _wake.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The poll interval ended, or the runner stops (checked by the loop).
            }
        }
    }

    /// <summary>Waits until the projection has committed every event up to <paramref name="position"/> (tests, read-your-writes).</summary>
    /// <param name="position">The position, for example <see cref="StoredEvent.Position"/> of a saved event.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the projection got there.</returns>
    public Task WaitForPositionAsync(long position, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersGate)
        {
            if (Position >= position)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((position, done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    private async ValueTask<int> RunBatchAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long from = Position;
            if (from < 0)
            {
                from = await _store.GetCheckpointAsync(_projection.Name, cancellationToken).ConfigureAwait(false);
                Advance(from);
            }

            IReadOnlyList<StoredEvent> events;
            try
            {
                events = await _store.ReadAllAsync(from, _options.BatchSize, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _lastError = ex;
                throw;
            }

            if (events.Count == 0)
            {
                _lastError = null;
                return 0;
            }

            long last = await InTransactionAsync(
                async context =>
                {
                    foreach (StoredEvent stored in events)
                    {
                        await _projection.HandleAsync(stored, context, cancellationToken).ConfigureAwait(false);
                    }

                    return events[^1].Position;
                },
                cancellationToken).ConfigureAwait(false);
            _lastError = null;
            Advance(last);
            return events.Count;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _lastError = ex;
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs a step and stores the checkpoint it returns, in one transaction on a database store.</summary>
    private async ValueTask<long> InTransactionAsync(Func<ProjectionContext, ValueTask<long>> step, CancellationToken cancellationToken)
    {
        if (_relational is null)
        {
            long position = await step(new ProjectionContext(_store, null)).ConfigureAwait(false);
            await _store.SetCheckpointAsync(_projection.Name, position, cancellationToken).ConfigureAwait(false);
            return position;
        }

        await _relational.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await _relational.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            DbTransaction transaction = await _relational.BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                long position = await step(new ProjectionContext(_store, transaction)).ConfigureAwait(false);
                await _relational.SetCheckpointAsync(transaction, _projection.Name, position, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return position;
            }
        }
    }

    /// <summary>Releases the runner's lock; stop <see cref="RunAsync"/> first.</summary>
    public void Dispose() => _gate.Dispose();

    private void Advance(long position)
    {
        Interlocked.Exchange(ref _position, position);
        lock (_waitersGate)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Position <= position)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Catch-up projection {Projection} failed after position {Position}; it retries from there.")]
        public static partial void BatchFailed(ILogger logger, Exception exception, string projection, long position);
    }
}
