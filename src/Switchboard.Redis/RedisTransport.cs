using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>
/// A transport over Redis Streams: one stream per destination (<c>{prefix}:{destination}</c>), one Redis consumer group
/// per bus name, <c>XADD</c> to send, <c>XREADGROUP</c> to receive, <c>XACK</c> after the handlers succeeded.
/// </summary>
/// <remarks>
/// <para>
/// A consumer group is created at stream position <c>0</c>, not <c>$</c>: messages sent before a service's group
/// existed are not lost, at the price that a service added later reads what the stream still holds.
/// </para>
/// <para>
/// A retry leaves the entry pending and claims it again for this consumer after the delay (<c>XCLAIM</c>), so the delivery
/// count is Redis's own and the message is never copied into the stream that other groups read. Entries left pending by
/// a consumer that died are reclaimed with <c>XAUTOCLAIM</c> after <see cref="RedisTransportOptions.ClaimMinIdleTime"/>.
/// Dead letters go to <c>{prefix}:{destination}:{group}:dlq</c> in one transaction with the acknowledgement.
/// </para>
/// </remarks>
public sealed class RedisTransport : ITransport
{
    private readonly Task<IConnectionMultiplexer> _connecting;
    private readonly bool _ownsConnection;
    private readonly ConcurrentDictionary<string, SendNotifier> _notifiers = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>Creates a transport that connects with <see cref="RedisTransportOptions.ConnectionString"/> and owns that connection.</summary>
    /// <param name="options">The options; they are copied and validated.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public RedisTransport(RedisTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        ConfigurationOptions configuration = ConfigurationOptions.Parse(Options.ConnectionString!);
        // Keep trying in the background when Redis is down at start-up or restarts: receivers back off and resume.
        configuration.AbortOnConnectFail = false;
        _connecting = ConnectAsync(configuration);
        _ownsConnection = true;
    }

    /// <summary>Creates a transport over a connection the caller owns (and disposes after the transport).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="options">The options; <see cref="RedisTransportOptions.ConnectionString"/> is not used.</param>
    public RedisTransport(IConnectionMultiplexer connection, RedisTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        RedisTransportOptions copy = options.Clone();
        copy.ConnectionString ??= "unused";
        copy.Validate();
        Options = copy;
        Observe(connection, ConnectionMonitor);
        _connecting = Task.FromResult(connection);
    }

    /// <inheritdoc />
    public string Name => "redis";

    /// <inheritdoc />
    /// <remarks>Durable as far as Redis persists (see the transport's guide); retries are delayed by the receiver, not by Redis.</remarks>
    public TransportCapabilities Capabilities => TransportCapabilities.Durable;

    internal RedisTransportOptions Options { get; }

    /// <summary>Gets the state of the connection to Redis: outages are counted on the <c>Switchboard</c> meter and reported by <see cref="RedisHealthCheck"/>.</summary>
    public ConnectionMonitor ConnectionMonitor { get; } = new("redis");

    /// <summary>Returns the transport's connection, once it is established.</summary>
    /// <returns>The connection.</returns>
    public Task<IConnectionMultiplexer> GetConnectionAsync() => _connecting;

    /// <inheritdoc />
    public async ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        IConnectionMultiplexer connection = await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        IDatabase db = connection.GetDatabase();
        await db.StreamAddAsync(
            RedisKeys.Stream(Options.StreamPrefix, message.Destination),
            RedisKeys.ToFields(message),
            messageId: null,
            maxLength: Options.StreamMaxLength,
            useApproximateMaxLength: true).WaitAsync(cancellationToken).ConfigureAwait(false);
        // Wakes idle receivers now; a lost notification only costs one BlockTime.
        _notifiers.GetOrAdd(message.Destination, static (destination, state) => new SendNotifier(state.Connection.GetSubscriber(), RedisKeys.Notify(state.Prefix, destination)), (Connection: connection, Prefix: Options.StreamPrefix)).Signal();
    }

    /// <inheritdoc />
    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        IConnectionMultiplexer connection = await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        string consumer = Options.ConsumerName is null ? options.ConsumerName : $"{Options.ConsumerName}-{options.ConsumerName}";
        RedisReceiver receiver = new(this, connection, options.Destination, options.ConsumerGroup, consumer);
        await receiver.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return receiver;
    }

    /// <inheritdoc />
    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        return new RedisDeadLetterQueue(this, destination, consumerGroup);
    }

    /// <summary>Reads how far one consumer group is: entries in the stream, pending (delivered, not acknowledged), lag and dead letters.</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <returns>The numbers (seed 001's <c>get_stream_info</c>).</returns>
    public async Task<RedisStreamInfo> GetStreamInfoAsync(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        IDatabase db = (await _connecting.ConfigureAwait(false)).GetDatabase();
        RedisKey stream = RedisKeys.Stream(Options.StreamPrefix, destination);
        long length = await db.StreamLengthAsync(stream).ConfigureAwait(false);
        long pending = 0;
        long? lag = null;
        if (length > 0)
        {
            foreach (StreamGroupInfo group in await db.StreamGroupInfoAsync(stream).ConfigureAwait(false))
            {
                if (group.Name == consumerGroup)
                {
                    pending = group.PendingMessageCount;
                    lag = group.Lag;
                }
            }
        }

        long deadLetters = await db.StreamLengthAsync(RedisKeys.DeadLetters(Options.StreamPrefix, destination, consumerGroup)).ConfigureAwait(false);
        return new RedisStreamInfo(length, pending, lag, deadLetters);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || !_ownsConnection)
        {
            return;
        }

        try
        {
            IConnectionMultiplexer connection = await _connecting.ConfigureAwait(false);
            await connection.CloseAsync().ConfigureAwait(false);
            connection.Dispose();
        }
        catch (RedisException)
        {
            // Never connected: nothing to close.
        }
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        IConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        Observe(connection, ConnectionMonitor);
        return connection;
    }

    /// <summary>Reports the outages of the interactive link only (the subscription link breaks with it), so one outage counts once.</summary>
    private static void Observe(IConnectionMultiplexer connection, ConnectionMonitor monitor)
    {
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                monitor.ReportLost(e.Exception);
            }
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                monitor.ReportRestored();
            }
        };
    }
}

/// <summary>How far one consumer group is on one destination.</summary>
/// <param name="Length">Entries in the stream.</param>
/// <param name="Pending">Entries delivered to the group and not yet acknowledged.</param>
/// <param name="Lag">Entries not yet delivered to the group, when Redis can tell (Redis 7 and later).</param>
/// <param name="DeadLetters">Entries in the group's dead-letter stream.</param>
public sealed record RedisStreamInfo(long Length, long Pending, long? Lag, long DeadLetters);
