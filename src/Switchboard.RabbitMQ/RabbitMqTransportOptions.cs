namespace Switchboard.RabbitMQ;

/// <summary>The kind of the one exchange a <see cref="RabbitMqTransport"/> publishes to (seed 001's <c>exchange_type</c>).</summary>
public enum RabbitMqExchangeType
{
    /// <summary>Routing by pattern: each group's queue is bound with its destination as the binding key.</summary>
    Topic = 0,

    /// <summary>Exact routing: each group's queue is bound with its destination as the routing key.</summary>
    Direct = 1,

    /// <summary>Broadcast: every queue bound to the exchange receives every message, whatever its destination.</summary>
    Fanout = 2,
}

/// <summary>Options of a <see cref="RabbitMqTransport"/> (seed 001's <c>RabbitMQEventBusConfig</c>).</summary>
/// <remarks>
/// The consumer group is the bus's name (<see cref="BusOptions.Name"/>), as on every transport: one durable queue per
/// group and destination, named <c>{destination}.{group}</c>, with <c>.delay</c> and <c>.dlq</c> queues beside it.
/// </remarks>
public sealed class RabbitMqTransportOptions
{
    /// <summary>Gets or sets the broker's URI, for example <c>amqp://guest:guest@127.0.0.1:5672/</c>. Required; never quoted in errors or logs.</summary>
    /// <value>The default value is <see langword="null"/>: it must be set.</value>
    public Uri? Uri { get; set; }

    /// <summary>Gets or sets the name of the exchange every message is published to.</summary>
    /// <value>The default value is <c>switchboard</c>.</value>
    public string ExchangeName { get; set; } = "switchboard";

    /// <summary>Gets or sets the exchange's type.</summary>
    /// <value>The default value is <see cref="RabbitMqExchangeType.Topic"/>.</value>
    public RabbitMqExchangeType ExchangeType { get; set; } = RabbitMqExchangeType.Topic;

    /// <summary>Gets or sets how many unacknowledged messages the broker may hand one receiver (<c>basic.qos</c>), or <see langword="null"/> to use the bus's per-receiver prefetch.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public ushort? Prefetch { get; set; }

    /// <summary>Gets or sets whether failed messages go to the group's dead-letter queue; when <see langword="false"/> they are acknowledged and dropped (logged by the bus).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DeadLetterEnabled { get; set; } = true;

    /// <summary>Gets or sets whether the groups' queues are quorum queues (replicated, with a broker-side delivery limit) instead of classic durable queues.</summary>
    /// <value>The default value is <see langword="false"/>. Changing it for an existing queue fails at declaration: RabbitMQ does not convert queues.</value>
    public bool QuorumQueues { get; set; }

    /// <summary>
    /// Gets or sets whether the transport declares its exchange, queues and bindings. Turn it off when the application's
    /// user has no configure permission and the topology is created by an operator (see the transport's guide for the names).
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CreateTopology { get; set; } = true;

    /// <summary>
    /// Gets or sets how many confirm-enabled channels the sends share. Concurrent sends take them in turn with several
    /// publishes in flight on each; every send still completes only when the broker confirmed its own message, and the
    /// broker confirms the messages in flight on a channel together (one disk sync for many).
    /// </summary>
    /// <value>The default value is 1: on one channel the most confirms share a sync. More channels spread the framing work of very many concurrent senders.</value>
    public int PublishChannelPoolSize { get; set; } = 1;

    /// <summary>Gets or sets the name the connection shows in the management UI.</summary>
    /// <value>The default value is <c>switchboard</c>.</value>
    public string ConnectionName { get; set; } = "switchboard";

    /// <summary>Gets or sets how long <see cref="RabbitMqHealthCheck"/> waits for the broker (opening and closing a channel) before it reports it unhealthy (a stalled network answers nothing).</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the options and throws a clear exception for the first invalid one. The URI is never quoted.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        if (Uri is null)
        {
            throw new ArgumentException("RabbitMqTransportOptions.Uri is required, for example amqp://user:password@host:5672/.", nameof(Uri));
        }

        if (!Uri.IsAbsoluteUri || (Uri.Scheme != "amqp" && Uri.Scheme != "amqps"))
        {
            throw new ArgumentException("RabbitMqTransportOptions.Uri must be an absolute amqp:// or amqps:// URI.", nameof(Uri));
        }

        if (string.IsNullOrWhiteSpace(ExchangeName))
        {
            throw new ArgumentException("RabbitMqTransportOptions.ExchangeName must not be empty (the default exchange cannot be bound).", nameof(ExchangeName));
        }

        if (ExchangeName.Length > 255)
        {
            throw new ArgumentException("RabbitMqTransportOptions.ExchangeName must be at most 255 characters.", nameof(ExchangeName));
        }

        if (!Enum.IsDefined(ExchangeType))
        {
            throw new ArgumentException($"RabbitMqTransportOptions.ExchangeType {(int)ExchangeType} is not Topic, Direct or Fanout.", nameof(ExchangeType));
        }

        if (Prefetch == 0)
        {
            throw new ArgumentException("RabbitMqTransportOptions.Prefetch must be positive or null (0 would mean unlimited).", nameof(Prefetch));
        }

        if (PublishChannelPoolSize is < 1 or > 1024)
        {
            throw new ArgumentException($"RabbitMqTransportOptions.PublishChannelPoolSize must be between 1 and 1024 (it is {PublishChannelPoolSize}).", nameof(PublishChannelPoolSize));
        }

        if (HealthCheckTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RabbitMqTransportOptions.HealthCheckTimeout must be positive (it is {HealthCheckTimeout}).", nameof(HealthCheckTimeout));
        }

        if (string.IsNullOrWhiteSpace(ConnectionName))
        {
            throw new ArgumentException("RabbitMqTransportOptions.ConnectionName must not be empty.", nameof(ConnectionName));
        }
    }

    internal RabbitMqTransportOptions Clone() => (RabbitMqTransportOptions)MemberwiseClone();
}
