using System.Data.Common;
using System.Diagnostics;
using System.Threading.Channels;
using Switchboard.Bus;
using Switchboard.Pipeline;
using Switchboard.Routing;
using Switchboard.Transport;

namespace Switchboard.Outbox;

/// <summary>
/// The outbox of one bus: writes rows in the application's transaction, and runs the dispatcher that claims, dispatches,
/// retries and parks them (<c>TransactionalOutbox.Dispatch.cs</c>) and the inbox that deduplicates what arrives
/// (<c>TransactionalOutbox.Inbox.cs</c>).
/// </summary>
internal sealed partial class TransactionalOutbox : IOutbox, IAsyncDisposable
{
    private readonly SwitchboardBus _bus;
    private readonly BusRuntime _runtime;
    private readonly IOutboxStore _store;
    private readonly OutboxOptions _options;
    private readonly bool _ownsStore;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task? _schema;
    private Task _loop = Task.CompletedTask;
    private IAsyncDisposable? _listener;
    private long _added;
    private long _dispatched;
    private long _failed;
    private long _deadLettered;
    private long _duplicates;
    private long _lastPending;
    private int _stopped;

    public TransactionalOutbox(SwitchboardBus bus, IOutboxStore store, OutboxOptions options, bool ownsStore)
    {
        _bus = bus;
        _runtime = bus.Runtime;
        _store = store;
        _options = options;
        _ownsStore = ownsStore;
        Owner = $"{_runtime.Options.Name}-{Environment.ProcessId}-{MessageIds.New()[^8..]}";
        DeadLetters = new OutboxDeadLetterQueue(this);
        OutboxMetrics.Register(this);
    }

    public IOutboxStore Store => _store;

    public IDeadLetterQueue DeadLetters { get; }

    public OutboxOptions Options => _options;

    /// <summary>Gets this dispatcher's name in the lease column: unique per process and bus.</summary>
    public string Owner { get; }

    internal long LastPending => Volatile.Read(ref _lastPending);

    internal string BusName => _runtime.Options.Name;

    /// <summary>Wakes the dispatcher now: something was committed.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    public ValueTask PublishAsync<TEvent>(DbTransaction transaction, TEvent @event, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(@event);
        return AddThroughPipelineAsync(transaction, OutgoingKind.Publish, @event, Metadata(options), options?.PartitionKey, cancellationToken);
    }

    public ValueTask SendAsync<TCommand>(DbTransaction transaction, TCommand command, OutboxMessageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(command);
        EnsureCommandRoute(command.GetType());
        return AddThroughPipelineAsync(transaction, OutgoingKind.Send, command, Metadata(options), options?.PartitionKey, cancellationToken);
    }

    public async ValueTask<int> ProcessAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        int dispatched = 0;
        long[]? unmarked = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                BatchResult batch = await DispatchBatchAsync(unmarked, cancellationToken).ConfigureAwait(false);
                unmarked = batch.Unmarked;
                dispatched += batch.Dispatched;
                if (batch.Claimed == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            if (unmarked is not null)
            {
                await MarkAsync(unmarked).ConfigureAwait(false);
            }
        }

        return dispatched;
    }

    public async ValueTask<OutboxStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        OutboxCounts counts = await _store.CountAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastPending, counts.Pending);
        TimeSpan age = counts.OldestPendingAt is { } oldest ? _runtime.Time.GetUtcNow() - oldest : TimeSpan.Zero;
        return new OutboxStatistics
        {
            Pending = counts.Pending,
            Dead = counts.Dead,
            OldestPendingAge = age < TimeSpan.Zero ? TimeSpan.Zero : age,
            Added = Interlocked.Read(ref _added),
            Dispatched = Interlocked.Read(ref _dispatched),
            Failed = Interlocked.Read(ref _failed),
            DeadLettered = Interlocked.Read(ref _deadLettered),
            DuplicatesSkipped = Interlocked.Read(ref _duplicates),
        };
    }

    /// <summary>Creates the tables once (again after a failure), before the first write, claim or inbox record.</summary>
    internal Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (!_options.CreateSchema)
        {
            return Task.CompletedTask;
        }

        Task? schema = Volatile.Read(ref _schema);
        if (schema is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled)
            {
                _schema = _store.EnsureSchemaAsync(CancellationToken.None).AsTask();
            }

            return _schema.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Encodes a message as <see cref="IMessageBus.PublishAsync{TEvent}(TEvent, PublishOptions?, CancellationToken)"/> would route it.</summary>
    internal TransportMessage Encode(object message, in MessageMetadata metadata, string? partitionKey)
    {
        MessageRoute route = _runtime.Router.GetRoute(message.GetType());
        return _runtime.Codec.Encode(message, route.Destination ?? OutboxRows.LocalDestination, metadata, replyTo: null, responseTtl: null, partitionKey);
    }

    internal void EnsureCommandRoute(Type commandType)
    {
        MessageRoute route = _runtime.Router.GetRoute(commandType);
        if (route.CommandHandler is null && route.Destination is null)
        {
            throw route.CommandHandlerError("IOutbox.SendAsync");
        }
    }

    internal async ValueTask AddAsync(DbTransaction transaction, IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await _store.AddAsync(transaction, messages, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _added, messages.Count);
    }

    /// <summary>Writes messages in a transaction of their own (cascades of a handler that had none), and wakes the dispatcher.</summary>
    internal async ValueTask AddInOwnTransactionAsync(IReadOnlyList<TransportMessage> messages, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        DbConnection connection = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await _store.AddAsync(transaction, messages, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        Interlocked.Add(ref _added, messages.Count);
        Wake();
    }

    /// <summary>Starts listening for commits and, unless turned off, the background dispatcher.</summary>
    internal void Start()
    {
        if (_options.RunDispatcher)
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }
        else
        {
            _ = EnsureSchemaAsync(CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Stops the dispatcher: the batch in progress finishes until <paramref name="cancellationToken"/> fires; its unsent rows are released.</summary>
    internal async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of time: rows in flight stay leased and are claimed again when the lease ends.
        }

        if (_listener is { } listener)
        {
            _listener = null;
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        OutboxMetrics.Unregister(this);
        if (_ownsStore)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        if (_loop.IsCompleted)
        {
            _stopping.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);

    private static MessageMetadata Metadata(OutboxMessageOptions? options)
        => new(options?.MessageId ?? MessageIds.New(), options?.CorrelationId, null, options?.Headers, 1, null);

    private static Activity? StartActivity(string name, ActivityKind kind, TransportMessage message, IOutboxStore store)
    {
        if (!SwitchboardDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(message.GetHeader(MessageHeaders.TraceParent), message.GetHeader(MessageHeaders.TraceState), out ActivityContext origin);
        ActivityLink[]? links = origin == default ? null : [new ActivityLink(origin)];
        Activity? activity = SwitchboardDiagnostics.ActivitySource.StartActivity(name, kind, origin, tags: null, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SwitchboardDiagnostics.Tags.System, "switchboard");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationName, "dispatch");
            activity.SetTag(SwitchboardDiagnostics.Tags.OperationType, "send");
            activity.SetTag(SwitchboardDiagnostics.Tags.Destination, message.Destination);
            activity.SetTag(SwitchboardDiagnostics.Tags.MessageId, message.MessageId);
            activity.SetTag("switchboard.outbox.store", store.Name);
        }

        return activity;
    }
}
