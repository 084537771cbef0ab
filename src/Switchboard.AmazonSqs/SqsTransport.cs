using System.Collections.Concurrent;
using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Transport;

namespace Switchboard.AmazonSqs;

/// <summary>
/// A transport over Amazon SQS: a queue per destination and consumer group, sends fanned out by the sender to every
/// group queue of the destination and batched (<c>SendMessageBatch</c>), long polling, acknowledgements batched
/// (<c>DeleteMessageBatch</c>), leases extended while handlers run, retries delayed by SQS, and a
/// dead-letter queue per group with SQS's redrive policy as a backstop.
/// </summary>
/// <remarks>
/// <para>
/// Every group receives every message sent to a destination: SQS has no exchange, so the sender lists the group queues
/// of the destination (<c>ListQueues</c> by name prefix, kept for <see cref="SqsTransportOptions.GroupDiscoveryInterval"/>)
/// and sends one copy to each. A send completes when SQS accepted every copy; a send to a destination without any group
/// queue fails with <see cref="InvalidOperationException"/>, as RabbitMQ's unroutable messages do.
/// </para>
/// <para>
/// A received message stays invisible while its handler runs: the receiver extends its visibility every third of
/// <see cref="SqsTransportOptions.VisibilityTimeout"/> until it is settled, up to
/// <see cref="SqsTransportOptions.MaxLeaseDuration"/> (SQS's 12 hours). A retry on a standard queue with a delay of 1 s
/// to 15 min is a copy sent with <c>DelaySeconds</c>, then the original is deleted; otherwise the message is made visible
/// again after the delay (<c>ChangeMessageVisibility</c>). A dead-lettered message is copied to the group's dead-letter
/// queue with the reason, then deleted.
/// </para>
/// </remarks>
public sealed partial class SqsTransport : ITransport
{
    private readonly bool _ownsClient;
    private readonly ConcurrentDictionary<string, Lazy<Task<SqsQueue>>> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GroupList> _groups = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>Creates a transport with its own SQS client, from <paramref name="options"/>.</summary>
    /// <param name="options">The options; they are copied and validated.</param>
    /// <param name="logger">Where the transport logs leases that reach their limit and queues it recreates; none by default.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public SqsTransport(SqsTransportOptions options, ILogger<SqsTransport>? logger = null)
        : this(CreateClient(Checked(options)), options, logger)
    {
        _ownsClient = true;
    }

    /// <summary>Creates a transport on an SQS client the caller configured and owns (endpoint, credentials, retries).</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The options; they are copied and validated (the client's own settings win over Region, ServiceUrl and the keys).</param>
    /// <param name="logger">Where the transport logs; none by default.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public SqsTransport(IAmazonSQS client, SqsTransportOptions options, ILogger<SqsTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        Options = Checked(options, requireEndpoint: false).Clone();
        Client = client;
        Logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => "sqs";

    /// <inheritdoc />
    /// <remarks>
    /// Durable queues; retries delayed by SQS (<c>DelaySeconds</c> or the visibility timeout); leases extended while a handler runs; a redrive
    /// policy moves messages to the dead-letter queue when dead-lettering is on; per-key order on FIFO queues.
    /// </remarks>
    public TransportCapabilities Capabilities =>
        TransportCapabilities.Durable | TransportCapabilities.NativeDelay | TransportCapabilities.LeaseExtension
        | (Options.DeadLetterEnabled ? TransportCapabilities.NativeDeadLetter : TransportCapabilities.None)
        | (Options.Fifo ? TransportCapabilities.OrderingByKey : TransportCapabilities.None);

    /// <summary>Gets the SQS client the transport calls.</summary>
    public IAmazonSQS Client { get; }

    internal SqsTransportOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>Gets whether SQS answers the transport: outages are counted on the <c>Switchboard</c> meter and reported by <see cref="SqsHealthCheck"/>.</summary>
    public ConnectionMonitor ConnectionMonitor { get; } = new("sqs");

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Gets the URLs of the queues this transport created or used (tests delete them afterwards).</summary>
    internal IEnumerable<string> KnownQueueUrls
    {
        get
        {
            foreach (Lazy<Task<SqsQueue>> queue in _queues.Values)
            {
                if (queue.IsValueCreated && queue.Value.IsCompletedSuccessfully)
                {
                    yield return queue.Value.Result.Url;
                }
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="MessageTooLargeException">The message is larger than a group queue's <c>MaximumMessageSize</c>.</exception>
    /// <exception cref="InvalidOperationException">No group queue exists for the destination, or SQS refused the message.</exception>
    public async ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        IReadOnlyList<SqsQueue> groups = await GetGroupQueuesAsync(message.Destination, cancellationToken).ConfigureAwait(false);
        SqsWire.Encoded encoded = SqsWire.Encode(message, headersAsAttributes: Options.HeadersAsAttributes, headersInBody: Options.HeadersInBody);
        string messageId = message.MessageId;
        string? groupId = null;
        string? deduplicationId = null;
        if (Options.Fifo)
        {
            // Per-key order on the partition key; without one, each message is a group of its own (no ordering, no blocking).
            groupId = message.PartitionKey ?? (messageId.Length > 0 ? messageId : Guid.NewGuid().ToString("N"));
            deduplicationId = DeduplicationId(messageId);
        }

        SendEntry entry = new(encoded, messageId, groupId, deduplicationId);
        foreach (SqsQueue queue in groups)
        {
            EnsureFits(message, encoded.Size, queue);
        }

        try
        {
            if (groups.Count == 1)
            {
                await groups[0].Sender.EnqueueAsync(entry).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Task[] sends = new Task[groups.Count];
                for (int i = 0; i < sends.Length; i++)
                {
                    sends[i] = groups[i].Sender.EnqueueAsync(entry);
                }

                await Task.WhenAll(sends).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (QueueDoesNotExistException)
        {
            // A group queue was deleted (or the service lost it): list the groups again on the next send.
            _groups.TryRemove(message.Destination, out _);
            foreach (SqsQueue queue in groups)
            {
                ForgetQueue(queue.Name);
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        SqsQueue queue = await GetGroupQueueAsync(options.Destination, options.ConsumerGroup, cancellationToken).ConfigureAwait(false);
        return new SqsReceiver(this, queue, options.Destination, options.ConsumerGroup, options.TimeProvider);
    }

    /// <inheritdoc />
    public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        return new SqsDeadLetterQueue(this, destination, consumerGroup);
    }

    /// <summary>Reads the approximate counts of one group's queue and of its dead-letter queue (seed 001's <c>get_stream_info</c>).</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="consumerGroup">The consumer group.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The counts, as SQS approximates them.</returns>
    public async Task<SqsQueueInfo> GetQueueInfoAsync(string destination, string consumerGroup, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        SqsQueue queue = await GetGroupQueueAsync(destination, consumerGroup, cancellationToken).ConfigureAwait(false);
        Dictionary<string, string> main = await GetCountsAsync(queue.Url, cancellationToken).ConfigureAwait(false);
        long deadLetters = 0;
        if (Options.DeadLetterEnabled)
        {
            SqsQueue dlq = await GetDeadLetterQueueAsync(destination, consumerGroup, cancellationToken).ConfigureAwait(false);
            Dictionary<string, string> counts = await GetCountsAsync(dlq.Url, cancellationToken).ConfigureAwait(false);
            deadLetters = Count(counts, "ApproximateNumberOfMessages") + Count(counts, "ApproximateNumberOfMessagesNotVisible") + Count(counts, "ApproximateNumberOfMessagesDelayed");
        }

        return new SqsQueueInfo(
            Count(main, "ApproximateNumberOfMessages"),
            Count(main, "ApproximateNumberOfMessagesNotVisible"),
            Count(main, "ApproximateNumberOfMessagesDelayed"),
            deadLetters);
    }

    /// <summary>Asks SQS for one queue name under the prefix: whether the service answers, for the health check.</summary>
    internal async Task PingAsync(CancellationToken cancellationToken)
        => await CallAsync(c => c.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = Options.QueueNamePrefix, MaxResults = 1 }, cancellationToken)).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        foreach (Lazy<Task<SqsQueue>> queue in _queues.Values)
        {
            if (queue.IsValueCreated && queue.Value.IsCompletedSuccessfully)
            {
                queue.Value.Result.Sender.Close();
                queue.Value.Result.Deleter.Close();
            }
        }

        if (_ownsClient)
        {
            Client.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Runs one SQS call and records whether SQS answered (outage counters, health).</summary>
    internal async Task<T> CallAsync<T>(Func<IAmazonSQS, Task<T>> call)
    {
        try
        {
            T result = await call(Client).ConfigureAwait(false);
            ConnectionMonitor.ReportRestored();
            return result;
        }
        catch (Exception ex)
        {
            if (SqsDiagnostics.IsOutage(ex))
            {
                ConnectionMonitor.ReportLost(ex);
            }
            else if (ex is AmazonServiceException)
            {
                // The service answered (it refused the request): SQS is reachable.
                ConnectionMonitor.ReportRestored();
            }

            throw;
        }
    }

    internal static string DeduplicationId(string messageId)
        => messageId.Length is > 0 and <= 128 ? messageId : Guid.NewGuid().ToString("N");

    internal static void EnsureFits(TransportMessage message, int size, SqsQueue queue)
    {
        if (size > queue.MaxMessageSize)
        {
            string type = message.GetHeader(MessageHeaders.MessageType) ?? "(no type)";
            throw new MessageTooLargeException(
                $"Message '{type}' ({message.MessageId}) is {size.ToString(CultureInfo.InvariantCulture)} bytes on the wire (body and attributes), but SQS queue '{queue.Name}' accepts at most " +
                $"{queue.MaxMessageSize.ToString(CultureInfo.InvariantCulture)} bytes (its MaximumMessageSize). Send less, or store the payload elsewhere and send a reference to it.");
        }
    }

    private static SqsTransportOptions Checked(SqsTransportOptions options, bool requireEndpoint = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (requireEndpoint)
        {
            options.Validate();
        }
        else
        {
            // The caller's client has its own region and endpoint.
            SqsTransportOptions copy = options.Clone();
            copy.Region ??= "client";
            copy.Validate();
        }

        return options;
    }

    private static AmazonSQSClient CreateClient(SqsTransportOptions options)
    {
        AmazonSQSConfig config = new()
        {
            // A few quick retries: an outage shows as failed sends within seconds, not minutes.
            MaxErrorRetry = 2,
            Timeout = TimeSpan.FromSeconds(Math.Max(30, options.WaitTime.TotalSeconds + 10)),
        };
        if (options.ServiceUrl is not null)
        {
            config.ServiceURL = options.ServiceUrl.ToString();
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is { Length: > 0 } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return options.AccessKeyId is not null
            ? new AmazonSQSClient(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config)
            : new AmazonSQSClient(config);
    }
}

/// <summary>The approximate counts of one consumer group's queue (SQS counts approximately).</summary>
/// <param name="Visible">Messages waiting to be received.</param>
/// <param name="InFlight">Messages received and not yet deleted or returned (being handled, or waiting for a retry).</param>
/// <param name="Delayed">Messages sent with a delay that has not passed.</param>
/// <param name="DeadLetters">Messages in the group's dead-letter queue.</param>
public sealed record SqsQueueInfo(long Visible, long InFlight, long Delayed, long DeadLetters);
