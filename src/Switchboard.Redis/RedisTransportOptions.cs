namespace Switchboard.Redis;

/// <summary>Options of a <see cref="RedisTransport"/> (seed 001's <c>RedisEventBusConfig</c>).</summary>
/// <remarks>
/// The consumer group is the bus's name (<see cref="BusOptions.Name"/>), as on every transport; the consumer name is made
/// unique per receiver by the bus and prefixed with <see cref="ConsumerName"/> when it is set.
/// </remarks>
public sealed class RedisTransportOptions
{
    /// <summary>Gets or sets the StackExchange.Redis connection string, for example <c>127.0.0.1:6379</c>. Required.</summary>
    /// <value>The default value is <see langword="null"/>: it must be set.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the prefix of every key: the stream of destination <c>d</c> is <c>{prefix}:d</c>.</summary>
    /// <value>The default value is <c>switchboard</c>.</value>
    public string StreamPrefix { get; set; } = "switchboard";

    /// <summary>Gets or sets a prefix for the Redis consumer names of this process (for example the host name), or <see langword="null"/>.</summary>
    /// <value>The default value is <see langword="null"/>: the bus's per-receiver name alone.</value>
    public string? ConsumerName { get; set; }

    /// <summary>Gets or sets how many entries one <c>XREADGROUP</c> or <c>XAUTOCLAIM</c> fetches at most.</summary>
    /// <value>The default value is 64.</value>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// Gets or sets how long an idle receiver waits before reading again when no new-message notification woke it
    /// (StackExchange.Redis multiplexes one connection, so it cannot block in <c>XREADGROUP</c>; senders publish a
    /// notification after <c>XADD</c> that wakes receivers at once, and this is the fallback).
    /// </summary>
    /// <value>The default value is 100 ms.</value>
    public TimeSpan BlockTime { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets whether entries left pending by a consumer that died are reclaimed (<c>XAUTOCLAIM</c>) and delivered again.</summary>
    /// <value>The default value is <see langword="true"/>. Turning it off means a crashed consumer's messages stay pending until someone claims them by hand.</value>
    public bool ClaimEnabled { get; set; } = true;

    /// <summary>
    /// Gets or sets how long an entry must have been pending, unacknowledged, before another consumer reclaims it. It
    /// must be longer than the longest handler run plus the time an entry read ahead (<see cref="BatchSize"/>) waits for a
    /// worker, otherwise a message is delivered a second time while the first consumer still holds it. Retry delays do not
    /// count: a retry claims its entry again when its delay is over.
    /// </summary>
    /// <value>The default value is 60 seconds.</value>
    public TimeSpan ClaimMinIdleTime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets the approximate length streams are trimmed to on <c>XADD</c> (<c>MAXLEN ~</c>), or <see langword="null"/> to never trim.</summary>
    /// <value>
    /// The default value is <see langword="null"/>. Trimming removes the oldest entries whether or not every consumer group
    /// has read them: set it well above the backlog any group can build up, or messages are lost.
    /// </value>
    public long? StreamMaxLength { get; set; }

    /// <summary>Gets or sets whether failed messages go to a dead-letter stream; when <see langword="false"/> they are acknowledged and dropped (logged by the bus).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DeadLetterEnabled { get; set; } = true;

    /// <summary>Gets or sets how long <see cref="RedisHealthCheck"/> waits for <c>PING</c> before it reports Redis unhealthy (a stalled network answers nothing).</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the options and throws a clear exception for the first invalid one. The connection string is never quoted.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("RedisTransportOptions.ConnectionString is required, for example \"127.0.0.1:6379\".", nameof(ConnectionString));
        }

        if (string.IsNullOrWhiteSpace(StreamPrefix))
        {
            throw new ArgumentException("RedisTransportOptions.StreamPrefix must not be empty.", nameof(StreamPrefix));
        }

        if (BatchSize < 1)
        {
            throw new ArgumentException($"RedisTransportOptions.BatchSize must be positive (it is {BatchSize}).", nameof(BatchSize));
        }

        if (BlockTime <= TimeSpan.Zero || BlockTime > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"RedisTransportOptions.BlockTime must be between 0 and 1 minute (it is {BlockTime}).", nameof(BlockTime));
        }

        if (ClaimMinIdleTime < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException($"RedisTransportOptions.ClaimMinIdleTime must be at least 100 ms (it is {ClaimMinIdleTime}): shorter, and messages still being handled are delivered twice.", nameof(ClaimMinIdleTime));
        }

        if (HealthCheckTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RedisTransportOptions.HealthCheckTimeout must be positive (it is {HealthCheckTimeout}).", nameof(HealthCheckTimeout));
        }

        if (StreamMaxLength is < 1)
        {
            throw new ArgumentException($"RedisTransportOptions.StreamMaxLength must be positive or null (it is {StreamMaxLength}).", nameof(StreamMaxLength));
        }
    }

    internal RedisTransportOptions Clone() => (RedisTransportOptions)MemberwiseClone();
}
