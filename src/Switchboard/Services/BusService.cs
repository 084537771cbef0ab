using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Observability;

namespace Switchboard;

/// <summary>
/// A base class for a service that lives on the bus (seed 002's <c>BaseService</c>): a start/stop lifecycle, the
/// subscriptions and streams made while starting removed on stop, and a status that is reported on the bus as a
/// <see cref="ServiceStatusChanged"/> event at every change.
/// </summary>
public abstract class BusService : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<IDisposable> _subscriptions = [];
    private readonly List<IAsyncDisposable> _streams = [];
    private readonly ILogger _logger;
    private ServiceStatus _status = ServiceStatus.Created;

    /// <summary>Creates the service.</summary>
    /// <param name="name">The service's name, in status events and logs.</param>
    /// <param name="bus">The bus it works on.</param>
    /// <param name="logger">Where lifecycle failures are logged.</param>
    protected BusService(string name, IMessageBus bus, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(bus);
        Name = name;
        Bus = bus;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the service's name.</summary>
    public string Name { get; }

    /// <summary>Gets the bus the service works on.</summary>
    public IMessageBus Bus { get; }

    /// <summary>Gets the current status.</summary>
    public ServiceStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Gets the exception that faulted the service, or <see langword="null"/>.</summary>
    public Exception? Fault { get; private set; }

    /// <summary>Gets how many subscriptions and streams the service holds now.</summary>
    public int SubscriptionCount
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count + _streams.Count;
            }
        }
    }

    /// <summary>
    /// Starts the service: status <see cref="ServiceStatus.Starting"/>, then <see cref="OnStartAsync"/>, then
    /// <see cref="ServiceStatus.Running"/>. If starting fails, the subscriptions made so far are removed, the status is
    /// <see cref="ServiceStatus.Faulted"/> with <see cref="Fault"/> set, and the exception is rethrown.
    /// </summary>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>A task that completes when the service runs.</returns>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ServiceStatus previous;
        lock (_gate)
        {
            // Check and claim in one step, so that two concurrent StartAsync calls cannot both start the service.
            if (_status is not (ServiceStatus.Created or ServiceStatus.Stopped or ServiceStatus.Faulted))
            {
                throw new InvalidOperationException($"Service '{Name}' cannot start while it is {_status}.");
            }

            previous = _status;
            _status = ServiceStatus.Starting;
        }

        Fault = null;
        await ReportStatusAsync(previous, ServiceStatus.Starting).ConfigureAwait(false);
        try
        {
            await OnStartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ServiceFailed(_logger, Name, "start", ex);
            await RemoveSubscriptionsAsync().ConfigureAwait(false);
            Fault = ex;
            await SetStatusAsync(ServiceStatus.Faulted).ConfigureAwait(false);
            throw;
        }

        await SetStatusAsync(ServiceStatus.Running).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the service: <see cref="OnStopAsync"/>, then every subscription and stream made through this class is
    /// removed, and the status is <see cref="ServiceStatus.Stopped"/> (or <see cref="ServiceStatus.Faulted"/> when stopping threw).
    /// Stopping a service that is not running does nothing.
    /// </summary>
    /// <param name="cancellationToken">Cancels the service's own stop work; subscriptions are removed regardless.</param>
    /// <returns>A task that completes when the service stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_status is not (ServiceStatus.Running or ServiceStatus.Faulted))
            {
                return;
            }
        }

        await SetStatusAsync(ServiceStatus.Stopping).ConfigureAwait(false);
        Exception? failure = null;
        try
        {
            await OnStopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ServiceFailed(_logger, Name, "stop", ex);
            failure = ex;
        }
        finally
        {
            await RemoveSubscriptionsAsync().ConfigureAwait(false);
        }

        Fault = failure;
        await SetStatusAsync(failure is null ? ServiceStatus.Stopped : ServiceStatus.Faulted).ConfigureAwait(false);
    }

    /// <summary>Stops the service.</summary>
    /// <returns>A task that completes when the service stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Subscribes to string topics; removed when the service stops.</summary>
    /// <param name="pattern">The topic pattern.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription.</returns>
    protected Subscription Subscribe(string pattern, Func<TopicMessage, CancellationToken, ValueTask> handler)
        => Track(Bus.Subscribe(pattern, handler));

    /// <summary>Subscribes a synchronous handler to string topics; removed when the service stops.</summary>
    /// <param name="pattern">The topic pattern.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription.</returns>
    protected Subscription Subscribe(string pattern, Action<TopicMessage> handler)
        => Track(Bus.Subscribe(pattern, handler));

    /// <summary>Subscribes a synchronous handler to events of a type; removed when the service stops.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription.</returns>
    protected Subscription Subscribe<T>(Action<T> handler)
        => Track(Bus.Subscribe(handler));

    /// <summary>Subscribes to events of a type; removed when the service stops.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>The subscription.</returns>
    protected Subscription Subscribe<T>(Func<T, CancellationToken, ValueTask> handler)
        => Track(Bus.Subscribe(handler));

    /// <summary>Opens a stream of events of a type; ended when the service stops.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="options">The buffer options.</param>
    /// <returns>The stream.</returns>
    protected EventStream<T> Stream<T>(StreamOptions? options = null)
    {
        EventStream<T> stream = Bus.Stream<T>(options);
        lock (_gate)
        {
            _streams.Add(stream);
        }

        return stream;
    }

    /// <summary>Starts the service's work: subscribe here.</summary>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>A task that completes when started.</returns>
    protected abstract Task OnStartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the service's own work; subscriptions are removed afterwards by the base class.</summary>
    /// <param name="cancellationToken">Cancels stopping.</param>
    /// <returns>A task that completes when stopped.</returns>
    protected virtual Task OnStopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Subscription Track(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions.Add(subscription);
        }

        return subscription;
    }

    private async Task RemoveSubscriptionsAsync()
    {
        IDisposable[] subscriptions;
        IAsyncDisposable[] streams;
        lock (_gate)
        {
            subscriptions = [.. _subscriptions];
            streams = [.. _streams];
            _subscriptions.Clear();
            _streams.Clear();
        }

        foreach (IDisposable subscription in subscriptions)
        {
            subscription.Dispose();
        }

        foreach (IAsyncDisposable stream in streams)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task SetStatusAsync(ServiceStatus status)
    {
        ServiceStatus previous;
        lock (_gate)
        {
            previous = _status;
            _status = status;
        }

        await ReportStatusAsync(previous, status).ConfigureAwait(false);
    }

    private async Task ReportStatusAsync(ServiceStatus previous, ServiceStatus status)
    {
        try
        {
            await Bus.PublishAsync(new ServiceStatusChanged(Name, previous, status, Fault?.Message)).ConfigureAwait(false);
        }
        catch (BusStoppedException)
        {
            // The bus is gone; the status is still tracked here.
        }
    }
}

/// <summary>The lifecycle states of a <see cref="BusService"/>.</summary>
public enum ServiceStatus
{
    /// <summary>Created, never started.</summary>
    Created,

    /// <summary>Starting.</summary>
    Starting,

    /// <summary>Running.</summary>
    Running,

    /// <summary>Stopping.</summary>
    Stopping,

    /// <summary>Stopped.</summary>
    Stopped,

    /// <summary>Starting or stopping failed; see <see cref="BusService.Fault"/>.</summary>
    Faulted,
}

/// <summary>Published on the bus whenever a <see cref="BusService"/> changes status.</summary>
/// <param name="Service">The service's name.</param>
/// <param name="Previous">The status before.</param>
/// <param name="Current">The status now.</param>
/// <param name="Error">The fault's message, when faulted.</param>
public sealed record ServiceStatusChanged(string Service, ServiceStatus Previous, ServiceStatus Current, string? Error);
