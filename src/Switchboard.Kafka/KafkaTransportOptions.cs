namespace Switchboard.Kafka;

/// <summary>How many replicas must have a message before the broker confirms it (librdkafka's <c>acks</c>).</summary>
public enum KafkaAcks
{
    /// <summary>Every in-sync replica (<c>acks=all</c>): nothing confirmed is lost while one in-sync replica survives.</summary>
    All = 0,

    /// <summary>The partition leader only (<c>acks=1</c>): a leader that fails before replicating loses confirmed messages.</summary>
    Leader = 1,

    /// <summary>No confirmation (<c>acks=0</c>): not allowed with the idempotent producer, and sends cannot report failures.</summary>
    None = 2,
}

/// <summary>The producer's compression codec (librdkafka's <c>compression.type</c>).</summary>
public enum KafkaCompression
{
    /// <summary>No compression.</summary>
    None = 0,

    /// <summary>gzip.</summary>
    Gzip = 1,

    /// <summary>Snappy.</summary>
    Snappy = 2,

    /// <summary>LZ4.</summary>
    Lz4 = 3,

    /// <summary>Zstandard.</summary>
    Zstd = 4,
}

/// <summary>Options of a <see cref="KafkaTransport"/> (seed 001's <c>KafkaEventBusConfig</c>).</summary>
/// <remarks>
/// The consumer group is the bus's name (<see cref="BusOptions.Name"/>), as on every transport. Destination <c>d</c> is the
/// topic <c>{TopicPrefix}d</c>; its dead letters for group <c>g</c> are in <c>{TopicPrefix}d.g.dlq</c>. Credentials
/// (SASL) go in <see cref="Settings"/> and are never logged or quoted in exceptions.
/// </remarks>
public sealed class KafkaTransportOptions
{
    /// <summary>Gets or sets the brokers to bootstrap from, for example <c>127.0.0.1:9092</c> (<c>bootstrap.servers</c>). Required.</summary>
    /// <value>The default value is <see langword="null"/>: it must be set.</value>
    public string? BootstrapServers { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every topic name and of every Kafka consumer group id (group <c>billing</c> is the Kafka group
    /// <c>{TopicPrefix}billing</c>): Kafka puts every consumer with one group id in one group whatever topics they read, so
    /// environments sharing a cluster are kept apart by the prefix.
    /// </summary>
    /// <value>The default value is an empty string.</value>
    public string TopicPrefix { get; set; } = string.Empty;

    /// <summary>Gets or sets how many replicas confirm a send.</summary>
    /// <value>The default value is <see cref="KafkaAcks.All"/>.</value>
    public KafkaAcks Acks { get; set; } = KafkaAcks.All;

    /// <summary>Gets or sets whether the producer is idempotent (no duplicates or reordering from its own retries; needs <see cref="KafkaAcks.All"/>).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool EnableIdempotence { get; set; } = true;

    /// <summary>Gets or sets the compression of produced batches.</summary>
    /// <value>The default value is <see cref="KafkaCompression.None"/>.</value>
    public KafkaCompression Compression { get; set; } = KafkaCompression.None;

    /// <summary>Gets or sets how often the producer retries a failed produce request itself (<c>message.send.max.retries</c>), or <see langword="null"/> for librdkafka's default.</summary>
    /// <value>The default value is <see langword="null"/> (librdkafka retries until <see cref="MessageTimeout"/>).</value>
    public int? MaxRetries { get; set; }

    /// <summary>Gets or sets how long a send may take, retries included, before it fails (<c>message.timeout.ms</c>).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan MessageTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long the producer waits to fill a batch (<c>linger.ms</c>).</summary>
    /// <value>The default value is 5 ms (librdkafka's default).</value>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Gets or sets the most bytes of one produce batch (<c>batch.size</c>), or <see langword="null"/> for librdkafka's default.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? BatchSize { get; set; }

    /// <summary>Gets or sets the most bytes one fetch returns (<c>fetch.max.bytes</c>), or <see langword="null"/> for librdkafka's default.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? FetchMaxBytes { get; set; }

    /// <summary>Gets or sets the most bytes one fetch returns per partition (<c>max.partition.fetch.bytes</c>), or <see langword="null"/> for librdkafka's default.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? MaxPartitionFetchBytes { get; set; }

    /// <summary>Gets or sets how long a consumer may miss heartbeats before the group gives its partitions to others (<c>session.timeout.ms</c>).</summary>
    /// <value>The default value is 45 seconds (Kafka's default).</value>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>Gets or sets how often a consumer heartbeats (<c>heartbeat.interval.ms</c>); at most a third of <see cref="SessionTimeout"/>.</summary>
    /// <value>The default value is 3 seconds (Kafka's default).</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Gets or sets the longest gap between two polls before the consumer is thrown out of its group (<c>max.poll.interval.ms</c>).
    /// The receiver polls on its own thread whatever the handlers do (a partition whose handlers fall behind is paused), so a
    /// long handler does not trip it.
    /// </summary>
    /// <value>The default value is 5 minutes (Kafka's default).</value>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how often handled offsets are committed in the background (<c>auto.commit.interval.ms</c> over offsets stored as they are handled).</summary>
    /// <value>The default value is 1 second. Offsets are also committed when partitions are revoked and when the receiver stops.</value>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how many messages of one partition may be received and not yet settled by this consumer; past it the
    /// partition is paused (the consumer keeps polling and stays in its group) until the oldest is settled. It also bounds
    /// the duplicates after a crash, per partition.
    /// </summary>
    /// <value>The default value is 256.</value>
    public int MaxInFlightPerPartition { get; set; } = 256;

    /// <summary>Gets or sets how long a revoked partition's in-flight messages may take to finish before the partition is given up without them (they are then delivered again to the new owner).</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan RevokeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets whether the transport creates missing topics (with <see cref="Partitions"/> and <see cref="ReplicationFactor"/>) through the admin API before it first uses them.</summary>
    /// <value>The default value is <see langword="true"/>. Turn it off where topics are created by an operator.</value>
    public bool CreateTopics { get; set; } = true;

    /// <summary>Gets or sets the partitions of topics the transport creates. More partitions allow more consumers of one group to work in parallel.</summary>
    /// <value>The default value is 4.</value>
    public int Partitions { get; set; } = 4;

    /// <summary>Gets or sets the replication factor of topics the transport creates, or -1 for the broker's default.</summary>
    /// <value>The default value is -1.</value>
    public short ReplicationFactor { get; set; } = -1;

    /// <summary>Gets or sets whether failed messages go to the group's dead-letter topic; when <see langword="false"/> they are committed and dropped (logged by the bus).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DeadLetterEnabled { get; set; } = true;

    /// <summary>Gets or sets how long <see cref="KafkaHealthCheck"/> waits for a broker to answer a metadata request before it reports Kafka unhealthy.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets a prefix of the Kafka <c>client.id</c> of this process's clients, or <see langword="null"/>.</summary>
    /// <value>The default value is <see langword="null"/>: <c>switchboard</c>.</value>
    public string? ClientId { get; set; }

    /// <summary>
    /// Gets raw librdkafka settings applied to every client of the transport after the options above (for example
    /// <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>sasl.username</c>, <c>sasl.password</c>). Values are never logged.
    /// </summary>
    /// <value>The default value is an empty dictionary.</value>
    public IDictionary<string, string> Settings => _settings;

    private Dictionary<string, string> _settings = new(StringComparer.Ordinal);

    /// <summary>Checks the options and throws a clear exception for the first invalid one. Values of <see cref="Settings"/> are never quoted.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("KafkaTransportOptions.BootstrapServers is required, for example \"127.0.0.1:9092\".", nameof(BootstrapServers));
        }

        if (TopicPrefix.Any(c => !KafkaWire.IsTopicChar(c)))
        {
            throw new ArgumentException("KafkaTransportOptions.TopicPrefix may hold only letters, digits, '.', '_' and '-'.", nameof(TopicPrefix));
        }

        if (!Enum.IsDefined(Acks))
        {
            throw new ArgumentException($"KafkaTransportOptions.Acks {(int)Acks} is not All, Leader or None.", nameof(Acks));
        }

        if (EnableIdempotence && Acks != KafkaAcks.All)
        {
            throw new ArgumentException("KafkaTransportOptions.EnableIdempotence needs Acks = All (Kafka's rule); set EnableIdempotence = false to use Leader or None.", nameof(Acks));
        }

        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentException($"KafkaTransportOptions.Compression {(int)Compression} is not None, Gzip, Snappy, Lz4 or Zstd.", nameof(Compression));
        }

        if (MaxRetries is < 0)
        {
            throw new ArgumentException($"KafkaTransportOptions.MaxRetries must not be negative (it is {MaxRetries}).", nameof(MaxRetries));
        }

        Positive(MessageTimeout, nameof(MessageTimeout));
        if (Linger < TimeSpan.Zero)
        {
            throw new ArgumentException($"KafkaTransportOptions.Linger must not be negative (it is {Linger}).", nameof(Linger));
        }

        PositiveOrNull(BatchSize, nameof(BatchSize));
        PositiveOrNull(FetchMaxBytes, nameof(FetchMaxBytes));
        PositiveOrNull(MaxPartitionFetchBytes, nameof(MaxPartitionFetchBytes));
        Positive(SessionTimeout, nameof(SessionTimeout));
        Positive(HeartbeatInterval, nameof(HeartbeatInterval));
        if (HeartbeatInterval * 3 > SessionTimeout)
        {
            throw new ArgumentException($"KafkaTransportOptions.HeartbeatInterval ({HeartbeatInterval}) must be at most a third of SessionTimeout ({SessionTimeout}).", nameof(HeartbeatInterval));
        }

        Positive(MaxPollInterval, nameof(MaxPollInterval));
        if (MaxPollInterval < SessionTimeout)
        {
            throw new ArgumentException($"KafkaTransportOptions.MaxPollInterval ({MaxPollInterval}) must be at least SessionTimeout ({SessionTimeout}).", nameof(MaxPollInterval));
        }

        Positive(CommitInterval, nameof(CommitInterval));
        Positive(HealthCheckTimeout, nameof(HealthCheckTimeout));
        if (MaxInFlightPerPartition < 1)
        {
            throw new ArgumentException($"KafkaTransportOptions.MaxInFlightPerPartition must be positive (it is {MaxInFlightPerPartition}).", nameof(MaxInFlightPerPartition));
        }

        if (RevokeTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException($"KafkaTransportOptions.RevokeTimeout must not be negative (it is {RevokeTimeout}).", nameof(RevokeTimeout));
        }

        if (Partitions < 1)
        {
            throw new ArgumentException($"KafkaTransportOptions.Partitions must be positive (it is {Partitions}).", nameof(Partitions));
        }

        if (ReplicationFactor is 0 or < -1)
        {
            throw new ArgumentException($"KafkaTransportOptions.ReplicationFactor must be positive or -1 (it is {ReplicationFactor}).", nameof(ReplicationFactor));
        }

        foreach (string key in Settings.Keys)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ArgumentException("KafkaTransportOptions.Settings holds an empty setting name.", nameof(Settings));
            }
        }
    }

    internal KafkaTransportOptions Clone()
    {
        KafkaTransportOptions copy = (KafkaTransportOptions)MemberwiseClone();
        // MemberwiseClone shares the dictionary; the copy gets its own, so later changes by the caller do not leak in.
        copy._settings = new Dictionary<string, string>(_settings, StringComparer.Ordinal);
        return copy;
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"KafkaTransportOptions.{name} must be positive (it is {value}).", name);
        }
    }

    private static void PositiveOrNull(int? value, string name)
    {
        if (value is < 1)
        {
            throw new ArgumentException($"KafkaTransportOptions.{name} must be positive or null (it is {value}).", name);
        }
    }
}
