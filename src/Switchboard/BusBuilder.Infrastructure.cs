using Microsoft.Extensions.Logging;
using Switchboard.Responses;
using Switchboard.Serialization;
using Switchboard.Transport;

namespace Switchboard;

public sealed partial class BusBuilder
{
    /// <summary>
    /// Routes messages of <typeparamref name="T"/> (and of types derived from it) through the transport instead of
    /// straight to the handlers in this process. <c>PublishAsync</c> and <c>SendAsync</c> return once the transport has
    /// confirmed the message; <c>RequestAsync</c> and <c>ExecuteAsync</c> wait for the result in the response store. A bus
    /// that has handlers for a routed type consumes its destination with its <see cref="BusOptions.Name"/> as consumer group:
    /// every group receives every message, and buses sharing a name share the work.
    /// </summary>
    /// <typeparam name="T">The message type, or a base type or interface of the messages to route.</typeparam>
    /// <param name="destination">The topic, stream or queue; <see langword="null"/> for each concrete type's stable name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder RouteToTransport<T>(string? destination = null) => RouteToTransport(typeof(T), destination);

    /// <summary>Routes messages of a type through the transport; see <see cref="RouteToTransport{T}(string?)"/>.</summary>
    /// <param name="messageType">The message type, or a base type or interface.</param>
    /// <param name="destination">The topic, stream or queue; <see langword="null"/> for each concrete type's stable name.</param>
    /// <returns>This builder.</returns>
    public BusBuilder RouteToTransport(Type messageType, string? destination = null)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        if (destination is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        }

        _transportRoutes.Add(new KeyValuePair<Type, string?>(messageType, destination));
        if (!messageType.IsAbstract && !messageType.IsInterface)
        {
            _messageTypes.Add(new KeyValuePair<Type, string?>(messageType, null));
        }

        return this;
    }

    internal IReadOnlyList<KeyValuePair<Type, string?>> TransportRoutes => _transportRoutes;

    /// <summary>Sets the transport that carries <c>ExecuteAsync</c> messages to workers. The default is an <see cref="Transport.InMemory.InMemoryTransport"/>.</summary>
    /// <param name="transport">The transport. The caller owns it (several buses may share one) and disposes it after the buses.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTransport(ITransport transport) => UseTransport(transport, disposeWithBus: false);

    /// <summary>
    /// Sets the transport, and whether the bus owns it. Transport packages use this to hand a bus a connection they
    /// created for it (<c>b.UseRedis(...)</c>), which the bus then disposes when it is disposed.
    /// </summary>
    /// <param name="transport">The transport.</param>
    /// <param name="disposeWithBus"><see langword="true"/> when the bus disposes the transport; <see langword="false"/> when the caller does.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTransport(ITransport transport, bool disposeWithBus)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        OwnsTransport = disposeWithBus;
        return this;
    }

    internal bool OwnsTransport { get; private set; }

    /// <summary>Sets the response store through which workers return results. The default is an <see cref="InMemoryResponseStore"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseResponseStore(IResponseStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        ResponseStore = store;
        return this;
    }

    /// <summary>Sets the serializer for transports and the response store. The default is <see cref="JsonMessageSerializer"/>.</summary>
    /// <param name="serializer">The serializer.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseSerializer(IMessageSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        Serializer = serializer;
        return this;
    }

    /// <summary>Sets where the bus logs. With dependency injection the container's logger factory is used.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        LoggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the clock for timeouts, delays and timestamps (tests pass a fake one).</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        TimeProvider = timeProvider;
        return this;
    }

    /// <summary>
    /// Gives the bus a transactional outbox and inbox on a store (<c>UseSqliteOutbox</c> and <c>UsePostgresOutbox</c> call
    /// this): messages added with <see cref="Outbox.IOutbox"/> in the application's transaction are dispatched after it commits,
    /// cascaded messages go through it, and received messages are deduplicated by the inbox.
    /// </summary>
    /// <param name="store">The store. The caller owns it and disposes it after the bus.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseOutbox(Outbox.IOutboxStore store, Action<Outbox.OutboxOptions>? configure = null)
        => UseOutbox(store, disposeWithBus: false, configure);

    /// <summary>Gives the bus a transactional outbox on a store, and says whether the bus owns (and disposes) the store.</summary>
    /// <param name="store">The store.</param>
    /// <param name="disposeWithBus"><see langword="true"/> when the bus disposes the store; <see langword="false"/> when the caller does.</param>
    /// <param name="configure">Changes the outbox's options.</param>
    /// <returns>This builder.</returns>
    public BusBuilder UseOutbox(Outbox.IOutboxStore store, bool disposeWithBus, Action<Outbox.OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        OutboxStore = store;
        OwnsOutboxStore = disposeWithBus;
        configure?.Invoke(OutboxOptions);
        return this;
    }

    internal Outbox.IOutboxStore? OutboxStore { get; private set; }

    internal bool OwnsOutboxStore { get; private set; }

    internal Outbox.OutboxOptions OutboxOptions { get; } = new();
}
