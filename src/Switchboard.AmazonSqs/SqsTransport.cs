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
/// (<c>DeleteMessageBatch</c>), leases extended while handlers run, retries through the visibility timeout, and a
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
/// <see cref="SqsTransportOptions.MaxLeaseDuration"/> (SQS's 12 hours). A retry makes it visible again after the delay
/// (<c>ChangeMessageVisibility</c>); a dead-lettered message is copied to the group's dead-letter queue with the reason,
/// then deleted.
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
    /// Durable queues; retries delayed by SQS (the visibility timeout); leases extended while a handler runs; a redrive
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
        SqsWire.Encoded encoded = SqsWire.Encode(message);
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

    /// <summary>The queue of one group of a destination, created (with its dead-letter queue and redrive policy) when topology creation is on.</summary>
    internal Task<SqsQueue> GetGroupQueueAsync(string destination, string group, CancellationToken cancellationToken)
    {
        string name = SqsQueueNames.Queue(Options.QueueNamePrefix, destination, group, Options.Fifo);
        return GetQueueAsync(name, async ct =>
        {
            Dictionary<string, string> attributes = QueueAttributes();
            if (Options.DeadLetterEnabled)
            {
                SqsQueue dlq = await GetDeadLetterQueueAsync(destination, group, ct).ConfigureAwait(false);
                GetQueueAttributesResponse arn = await CallAsync(c => c.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = dlq.Url, AttributeNames = ["QueueArn"] }, ct)).ConfigureAwait(false);
                attributes["RedrivePolicy"] = $"{{\"deadLetterTargetArn\":\"{arn.Attributes["QueueArn"]}\",\"maxReceiveCount\":\"{Options.RedriveMaxReceiveCount.ToString(CultureInfo.InvariantCulture)}\"}}";
            }

            return attributes;
        }, cancellationToken);
    }

    internal Task<SqsQueue> GetDeadLetterQueueAsync(string destination, string group, CancellationToken cancellationToken)
    {
        string name = SqsQueueNames.DeadLetterQueue(Options.QueueNamePrefix, destination, group, Options.Fifo);
        return GetQueueAsync(name, _ =>
        {
            Dictionary<string, string> attributes = QueueAttributes();
            // Dead letters wait for a person: keep them as long as SQS allows (14 days).
            attributes["MessageRetentionPeriod"] = "1209600";
            return Task.FromResult(attributes);
        }, cancellationToken);
    }

    /// <summary>Forgets a queue's URL (it was deleted): the next use looks it up, or creates it, again.</summary>
    internal void ForgetQueue(string name)
    {
        if (_queues.TryRemove(name, out Lazy<Task<SqsQueue>>? removed) && removed.IsValueCreated && removed.Value.IsCompletedSuccessfully)
        {
            removed.Value.Result.Sender.Close();
            removed.Value.Result.Deleter.Close();
        }
    }

    /// <summary>Knows a group queue of this process at once, without waiting for the next listing.</summary>
    internal void AddKnownGroup(string destination, SqsQueue queue)
    {
        if (_groups.TryGetValue(destination, out GroupList? list) && list.Queues.IsCompletedSuccessfully && !list.Queues.Result.Contains(queue))
        {
            _groups.TryRemove(destination, out _);
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

    private async Task<IReadOnlyList<SqsQueue>> GetGroupQueuesAsync(string destination, CancellationToken cancellationToken)
    {
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        if (!_groups.TryGetValue(destination, out GroupList? list) || list.ExpiresAt <= now || list.Queues.IsFaulted || list.Queues.IsCanceled)
        {
            GroupList fresh = new(ListGroupQueuesAsync(destination), now + Options.GroupDiscoveryInterval);
            list = _groups.AddOrUpdate(destination, fresh, (_, old) => ReferenceEquals(old, list) || old.ExpiresAt <= now ? fresh : old);
        }

        IReadOnlyList<SqsQueue> queues = await list.Queues.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (queues.Count == 0)
        {
            // Nobody consumes it yet, as far as the last listing knew: look again before failing the send.
            _groups.TryRemove(destination, out _);
            queues = await ListGroupQueuesAsync(destination).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (queues.Count > 0)
            {
                _groups[destination] = new GroupList(Task.FromResult(queues), TimeProvider.System.GetUtcNow() + Options.GroupDiscoveryInterval);
            }
        }

        if (queues.Count == 0)
        {
            throw new InvalidOperationException(
                $"No SQS queue consumes destination '{destination}': no queue is named '{SqsQueueNames.GroupPrefix(Options.QueueNamePrefix, destination)}{{group}}{(Options.Fifo ? SqsQueueNames.FifoSuffix : string.Empty)}'. " +
                "Start a consumer of that destination first (its queue is created when it starts), or create the queue.");
        }

        return queues;
    }

    private async Task<IReadOnlyList<SqsQueue>> ListGroupQueuesAsync(string destination)
    {
        string prefix = SqsQueueNames.GroupPrefix(Options.QueueNamePrefix, destination);
        List<SqsQueue> queues = [];
        string? next = null;
        do
        {
            ListQueuesResponse page = await CallAsync(c => c.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = prefix, MaxResults = 1000, NextToken = next }, CancellationToken.None)).ConfigureAwait(false);
            foreach (string url in page.QueueUrls ?? [])
            {
                string name = SqsQueueNames.NameOf(url);
                if (SqsQueueNames.IsGroupQueue(name, prefix, Options.Fifo))
                {
                    queues.Add(await GetQueueAsync(name, null, CancellationToken.None, url).ConfigureAwait(false));
                }
            }

            next = page.NextToken;
        }
        while (!string.IsNullOrEmpty(next));

        return queues;
    }

    private Task<SqsQueue> GetQueueAsync(string name, Func<CancellationToken, Task<Dictionary<string, string>>>? create, CancellationToken cancellationToken, string? knownUrl = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Lazy<Task<SqsQueue>> lazy = _queues.GetOrAdd(name, n => new Lazy<Task<SqsQueue>>(() => OpenQueueAsync(n, create, knownUrl)));
        Task<SqsQueue> task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // A failed lookup is not kept: the next call tries again.
            _queues.TryRemove(new KeyValuePair<string, Lazy<Task<SqsQueue>>>(name, lazy));
            lazy = _queues.GetOrAdd(name, n => new Lazy<Task<SqsQueue>>(() => OpenQueueAsync(n, create, knownUrl)));
            task = lazy.Value;
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task<SqsQueue> OpenQueueAsync(string name, Func<CancellationToken, Task<Dictionary<string, string>>>? create, string? knownUrl)
    {
        string url;
        if (knownUrl is not null)
        {
            url = knownUrl;
        }
        else if (create is not null && Options.CreateTopology)
        {
            Dictionary<string, string> attributes = await create(CancellationToken.None).ConfigureAwait(false);
            try
            {
                url = (await CallAsync(c => c.CreateQueueAsync(new CreateQueueRequest { QueueName = name, Attributes = attributes }, CancellationToken.None)).ConfigureAwait(false)).QueueUrl;
            }
            catch (QueueNameExistsException)
            {
                // Created earlier with other attributes (an operator's, or older options): use it as it is.
                url = (await CallAsync(c => c.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = name }, CancellationToken.None)).ConfigureAwait(false)).QueueUrl;
            }
        }
        else
        {
            try
            {
                url = (await CallAsync(c => c.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = name }, CancellationToken.None)).ConfigureAwait(false)).QueueUrl;
            }
            catch (QueueDoesNotExistException ex)
            {
                throw new InvalidOperationException($"SQS queue '{name}' does not exist, and SqsTransportOptions.CreateTopology is off: create it (see the SQS transport guide for the names and attributes).", ex);
            }
        }

        GetQueueAttributesResponse read = await CallAsync(c => c.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["MaximumMessageSize"] }, CancellationToken.None)).ConfigureAwait(false);
        // SQS now allows 1 MiB; a queue that does not say is treated as an old one, 256 KiB.
        int maxSize = read.Attributes is { } a && a.TryGetValue("MaximumMessageSize", out string? text) && int.TryParse(text, CultureInfo.InvariantCulture, out int parsed) ? parsed : 262_144;
        SqsQueue queue = new(name, url, maxSize);
        queue.Sender = new SqsBatcher<SendEntry>(batch => SendBatchAsync(queue, batch), e => e.Encoded.Size, Options.MaxBatchesInFlight, maxSize);
        queue.Deleter = new SqsBatcher<string>(batch => DeleteBatchAsync(queue, batch), _ => 0, Options.MaxBatchesInFlight, int.MaxValue);
        return queue;
    }

    private async Task SendBatchAsync(SqsQueue queue, IReadOnlyList<SqsBatcher<SendEntry>.Pending> batch)
    {
        List<SendMessageBatchRequestEntry> entries = new(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            entries.Add(batch[i].Item.ToEntry(i.ToString(CultureInfo.InvariantCulture)));
        }

        SendMessageBatchResponse response = await CallAsync(c => c.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = queue.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
        foreach (SendMessageBatchResultEntry ok in response.Successful ?? [])
        {
            if (int.TryParse(ok.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetResult();
            }
        }

        foreach (BatchResultErrorEntry failed in response.Failed ?? [])
        {
            if (int.TryParse(failed.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetException(new InvalidOperationException(
                    $"SQS refused message '{batch[index].Item.MessageId}' for queue '{queue.Name}' ({failed.Code}{(failed.SenderFault == true ? ", the request's fault" : ", the service's fault: send it again")}): {failed.Message}"));
            }
        }
    }

    private async Task DeleteBatchAsync(SqsQueue queue, IReadOnlyList<SqsBatcher<string>.Pending> batch)
    {
        List<DeleteMessageBatchRequestEntry> entries = new(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            entries.Add(new DeleteMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = batch[i].Item });
        }

        DeleteMessageBatchResponse response = await CallAsync(c => c.DeleteMessageBatchAsync(new DeleteMessageBatchRequest { QueueUrl = queue.Url, Entries = entries }, CancellationToken.None)).ConfigureAwait(false);
        foreach (DeleteMessageBatchResultEntry ok in response.Successful ?? [])
        {
            if (int.TryParse(ok.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetResult();
            }
        }

        foreach (BatchResultErrorEntry failed in response.Failed ?? [])
        {
            if (int.TryParse(failed.Id, CultureInfo.InvariantCulture, out int index) && index >= 0 && index < batch.Count)
            {
                batch[index].Done.TrySetException(new InvalidOperationException(
                    $"SQS did not delete a message from queue '{queue.Name}' ({failed.Code}: {failed.Message}); it will be delivered again."));
            }
        }
    }

    private async Task<Dictionary<string, string>> GetCountsAsync(string url, CancellationToken cancellationToken)
    {
        GetQueueAttributesResponse response = await CallAsync(c => c.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = url,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        }, cancellationToken)).ConfigureAwait(false);
        return response.Attributes ?? [];
    }

    private static long Count(Dictionary<string, string> attributes, string name)
        => attributes.TryGetValue(name, out string? text) && long.TryParse(text, CultureInfo.InvariantCulture, out long value) ? value : 0;

    private Dictionary<string, string> QueueAttributes()
    {
        Dictionary<string, string> attributes = new(StringComparer.Ordinal)
        {
            ["VisibilityTimeout"] = ((long)Options.VisibilityTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        };
        if (Options.Fifo)
        {
            attributes["FifoQueue"] = "true";
        }

        return attributes;
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

    private sealed record GroupList(Task<IReadOnlyList<SqsQueue>> Queues, DateTimeOffset ExpiresAt);
}

/// <summary>The approximate counts of one consumer group's queue (SQS counts approximately).</summary>
/// <param name="Visible">Messages waiting to be received.</param>
/// <param name="InFlight">Messages received and not yet deleted or returned (being handled, or waiting for a retry).</param>
/// <param name="Delayed">Messages sent with a delay that has not passed.</param>
/// <param name="DeadLetters">Messages in the group's dead-letter queue.</param>
public sealed record SqsQueueInfo(long Visible, long InFlight, long Delayed, long DeadLetters);
