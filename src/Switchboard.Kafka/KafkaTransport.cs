using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Switchboard.Transport;

namespace Switchboard.Kafka;

/// <summary>
/// A transport over Apache Kafka (Confluent.Kafka / librdkafka): a topic per destination, a Kafka consumer group per bus
/// name, the partition key as the record key (so one key's messages share a partition and keep their order), a send that
/// completes on the delivery report, and offsets committed only up to what was handled.
/// </summary>
/// <remarks>
/// <para>
/// Consuming: one poll thread per receiver; records of one key are handed to the bus one at a time (a retried record holds
/// back the later records of its key only, not of its partition); offsets are stored as the contiguous handled watermark
/// of each partition and committed in the background, on revoke and on stop. See the transport's guide for the details.
/// </para>
/// <para>
/// Retries are delayed in the consumer: the record stays uncommitted meanwhile, so a crash delivers it again. Dead letters
/// go to <c>{topic}.{group}.dlq</c>; replays go back to the destination's topic marked for that group only.
/// </para>
/// </remarks>
public sealed partial class KafkaTransport : ITransport
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly Lazy<IAdminClient> _admin;
    private readonly ConcurrentDictionary<string, Task> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _topicNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<KafkaReceiver, byte> _receivers = new();
    private int _disposed;

    /// <summary>Creates a transport; it connects in the background and reconnects by itself.</summary>
    /// <param name="options">The options; they are copied and validated.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public KafkaTransport(KafkaTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        Health = new KafkaConnectionHealth(ConnectionMonitor);
        _producer = new ProducerBuilder<byte[]?, byte[]?>(ProducerConfig())
            .SetErrorHandler((_, error) => Health.OnError(error))
            .SetLogHandler(static (_, _) => { }) // librdkafka's log lines can name brokers; errors reach Health instead
            .Build();
        _admin = new Lazy<IAdminClient>(() => new DependentAdminClientBuilder(_producer.Handle).Build(), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <inheritdoc />
    public string Name => "kafka";

    /// <inheritdoc />
    /// <remarks>Durable as far as the topics are replicated; one key's messages are delivered in the order sent; retries are delayed by the consumer.</remarks>
    public TransportCapabilities Capabilities => TransportCapabilities.Durable | TransportCapabilities.OrderingByKey;

    internal KafkaTransportOptions Options { get; }

    /// <summary>Gets the state and outage counters of the transport's connection to the brokers (the core <c>switchboard.connection.*</c> instruments, tagged <c>messaging.system = kafka</c>).</summary>
    public ConnectionMonitor ConnectionMonitor { get; } = new("kafka");

    internal KafkaConnectionHealth Health { get; }

    /// <summary>Gets the writer of record headers (every record that carries an envelope: sends, dead letters, replays).</summary>
    internal KafkaHeaderWriter HeaderWriter { get; } = new();

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        // The topic of a destination is named once (not concatenated per send).
        string topic = _topicNames.GetOrAdd(message.Destination, static (destination, prefix) => KafkaWire.Topic(prefix, destination), Options.TopicPrefix);
        Task creating = EnsureTopicAsync(topic, cancellationToken);
        return creating.IsCompletedSuccessfully ? new ValueTask(Produce(topic, message, cancellationToken)) : SendOnceCreatedAsync(creating, topic, message, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        string topic = KafkaWire.Topic(Options.TopicPrefix, options.Destination);
        await EnsureTopicAsync(topic, cancellationToken).ConfigureAwait(false);
        if (Options.DeadLetterEnabled)
        {
            await EnsureTopicAsync(KafkaWire.DeadLetterTopic(Options.TopicPrefix, options.Destination, options.ConsumerGroup), cancellationToken).ConfigureAwait(false);
        }

        KafkaReceiver receiver = new(this, options, topic);
        try
        {
            await receiver.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await receiver.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _receivers[receiver] = 0;
        return receiver;
    }

    /// <summary>The receivers started and not yet disposed (for tests that wait for a consumer group to form).</summary>
    internal ICollection<KafkaReceiver> Receivers => _receivers.Keys;

    internal void Forget(KafkaReceiver receiver) => _receivers.TryRemove(receiver, out _);

    /// <inheritdoc />
    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        return new KafkaDeadLetterQueue(this, destination, consumerGroup);
    }

    /// <summary>
    /// Reads how far one consumer group is on one destination: per partition the log's start and end offsets, the group's
    /// committed offset and its lag, and the dead-letter count (seed 001's <c>get_stream_info</c>).
    /// </summary>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The numbers.</returns>
    public async Task<KafkaStreamInfo> GetStreamInfoAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        string topic = KafkaWire.Topic(Options.TopicPrefix, destination);
        List<KafkaPartitionInfo> partitions = await Task.Run(() =>
        {
            using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(ConsumerConfig(consumerGroup, "info")).SetLogHandler(static (_, _) => { }).Build();
            List<TopicPartition> all = Partitions(topic);
            List<TopicPartitionOffset> committed = all.Count == 0 ? [] : consumer.Committed(all, OperationTimeout);
            List<KafkaPartitionInfo> result = [];
            foreach (TopicPartition partition in all)
            {
                WatermarkOffsets marks = consumer.QueryWatermarkOffsets(partition, OperationTimeout);
                Offset offset = committed.First(c => c.Partition == partition.Partition).Offset;
                long? committedOffset = offset.IsSpecial ? null : offset.Value;
                long lag = marks.High.Value - Math.Max(committedOffset ?? marks.Low.Value, marks.Low.Value);
                result.Add(new KafkaPartitionInfo(partition.Partition.Value, marks.Low.Value, marks.High.Value, committedOffset, Math.Max(0, lag)));
            }

            return result;
        }, cancellationToken).ConfigureAwait(false);

        long deadLetters = await GetDeadLetterQueue(destination, consumerGroup).CountAsync(cancellationToken).ConfigureAwait(false);
        return new KafkaStreamInfo(partitions, deadLetters);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        // Sends complete only on their delivery report, so nothing confirmed is waiting here; flush what is still queued.
        _producer.Flush(TimeSpan.FromSeconds(5));
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }

        _producer.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static TimeSpan OperationTimeout => TimeSpan.FromSeconds(10);

    /// <summary>Creates the topic unless it exists (once per topic and transport), when <see cref="KafkaTransportOptions.CreateTopics"/> is on.</summary>
    internal Task EnsureTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (!Options.CreateTopics)
        {
            return Task.CompletedTask;
        }

        Task creating = _topics.GetOrAdd(topic, CreateTopicAsync);
        if (creating.IsFaulted)
        {
            // Try again next time (the broker may have been down).
            _topics.TryRemove(new KeyValuePair<string, Task>(topic, creating));
        }

        return creating.WaitAsync(cancellationToken);
    }

    private async Task CreateTopicAsync(string topic)
    {
        try
        {
            await _admin.Value.CreateTopicsAsync(
                [new TopicSpecification { Name = topic, NumPartitions = Options.Partitions, ReplicationFactor = Options.ReplicationFactor }],
                new CreateTopicsOptions { RequestTimeout = OperationTimeout, OperationTimeout = OperationTimeout }).ConfigureAwait(false);
        }
        catch (CreateTopicsException ex) when (ex.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Created by another process (or by an earlier run): fine.
        }
    }

    /// <summary>The partitions of a topic, from the cluster's metadata (empty when the topic does not exist).</summary>
    internal List<TopicPartition> Partitions(string topic)
    {
        Metadata metadata = _admin.Value.GetMetadata(topic, OperationTimeout);
        TopicMetadata? found = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.Code != ErrorCode.NoError)
        {
            return [];
        }

        return [.. found.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value)];
    }

    /// <summary>Asks the cluster for its metadata; returns how many brokers it lists (a broker answering ends an outage).</summary>
    internal int ProbeBrokers(TimeSpan timeout)
    {
        Metadata metadata = _admin.Value.GetMetadata(timeout);
        if (metadata.Brokers.Count > 0)
        {
            Health.OnDelivered();
        }

        return metadata.Brokers.Count;
    }

    /// <summary>The settings of a consumer of this transport; <paramref name="receiver"/>: a receiver's (it reads only the records' headers, key and value).</summary>
    internal ConsumerConfig ConsumerConfig(string group, string clientSuffix, bool receiver = false)
    {
        ConsumerConfig config = new()
        {
            BootstrapServers = Options.BootstrapServers,
            ClientId = $"{Options.ClientId ?? "switchboard"}-{clientSuffix}",
            // The prefix namespaces the Kafka group as it does the topics: a group's members are every consumer with that id,
            // whatever topic it reads, so two environments (or test runs) sharing a cluster must not share "billing".
            GroupId = Options.TopicPrefix + group,
            // A new group reads from the start: messages sent before a service's group existed are not lost.
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Offsets are stored by the receiver as records are handled (the contiguous watermark) and committed by
            // librdkafka in the background, on revoke and on close; never past a record whose handlers did not run.
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = (int)Options.CommitInterval.TotalMilliseconds,
            SessionTimeoutMs = (int)Options.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)Options.HeartbeatInterval.TotalMilliseconds,
            MaxPollIntervalMs = (int)Options.MaxPollInterval.TotalMilliseconds,
            // Incremental rebalances: a consumer joining or leaving moves only the partitions that must move.
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            EnablePartitionEof = false,
            AllowAutoCreateTopics = !Options.CreateTopics,
        };
        if (receiver)
        {
            // A receiver never reads a record's topic name (it knows it) or timestamp: Confluent.Kafka need not marshal them.
            config.ConsumeResultFields = "headers";
        }

        if (Options.FetchMaxBytes is { } fetchMax)
        {
            config.FetchMaxBytes = fetchMax;
        }

        if (Options.MaxPartitionFetchBytes is { } partitionMax)
        {
            config.MaxPartitionFetchBytes = partitionMax;
        }

        Apply(config);
        return config;
    }

    private ProducerConfig ProducerConfig()
    {
        ProducerConfig config = new()
        {
            BootstrapServers = Options.BootstrapServers,
            ClientId = $"{Options.ClientId ?? "switchboard"}-producer",
            Acks = Options.Acks switch { KafkaAcks.Leader => Confluent.Kafka.Acks.Leader, KafkaAcks.None => Confluent.Kafka.Acks.None, _ => Confluent.Kafka.Acks.All },
            EnableIdempotence = Options.EnableIdempotence,
            CompressionType = Options.Compression switch
            {
                KafkaCompression.Gzip => CompressionType.Gzip,
                KafkaCompression.Snappy => CompressionType.Snappy,
                KafkaCompression.Lz4 => CompressionType.Lz4,
                KafkaCompression.Zstd => CompressionType.Zstd,
                _ => CompressionType.None,
            },
            MessageTimeoutMs = (int)Options.MessageTimeout.TotalMilliseconds,
            LingerMs = Options.Linger.TotalMilliseconds,
            // The record's key picks the partition (murmur2, as the Java client: other producers agree); no key spreads.
            Partitioner = Confluent.Kafka.Partitioner.Murmur2Random,
            // A send needs only whether its record was written (the error is always reported). By default Confluent.Kafka
            // copies every record's headers, timestamp and status back into managed memory on the one thread that completes
            // all the sends' tasks; nothing here reads them.
            DeliveryReportFields = "none",
        };
        if (Options.MaxRetries is { } retries)
        {
            config.MessageSendMaxRetries = retries;
        }

        if (Options.BatchSize is { } batchSize)
        {
            config.BatchSize = batchSize;
        }

        Apply(config);
        return config;
    }

    private void Apply(ClientConfig config)
    {
        foreach ((string key, string value) in Options.Settings)
        {
            config.Set(key, value);
        }
    }
}

/// <summary>A send that Kafka did not confirm (the delivery report was an error).</summary>
public sealed class KafkaSendException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KafkaSendException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    public KafkaSendException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The client's exception.</param>
    public KafkaSendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>How far one consumer group is on one destination.</summary>
/// <param name="Partitions">Per partition: offsets and lag.</param>
/// <param name="DeadLetters">Entries in the group's dead-letter topic that were neither replayed nor deleted.</param>
public sealed record KafkaStreamInfo(IReadOnlyList<KafkaPartitionInfo> Partitions, long DeadLetters)
{
    /// <summary>Gets the lag summed over the partitions: records the group has not committed yet.</summary>
    public long Lag => Partitions.Sum(p => p.Lag);
}

/// <summary>One partition of a destination's topic, as one consumer group sees it.</summary>
/// <param name="Partition">The partition number.</param>
/// <param name="StartOffset">The oldest offset still in the log.</param>
/// <param name="EndOffset">The offset the next record will get (the high watermark).</param>
/// <param name="CommittedOffset">The group's committed offset (the next record it will read), or <see langword="null"/> when it has committed none.</param>
/// <param name="Lag">Records from the committed offset (or the log's start) to the end.</param>
public sealed record KafkaPartitionInfo(int Partition, long StartOffset, long EndOffset, long? CommittedOffset, long Lag)
{
    /// <summary>Returns the numbers as one line.</summary>
    /// <returns>The line.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"partition {Partition}: start {StartOffset}, end {EndOffset}, committed {CommittedOffset?.ToString(CultureInfo.InvariantCulture) ?? "-"}, lag {Lag}");
}
