using System.Globalization;
using Amazon.SQS.Model;

namespace Switchboard.AmazonSqs;

public sealed partial class SqsTransport
{
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

    private ValueTask<IReadOnlyList<SqsQueue>> GetGroupQueuesAsync(string destination, CancellationToken cancellationToken)
    {
        // The common case, once per message: a fresh listing is at hand (no task allocated for it).
        return _groups.TryGetValue(destination, out GroupList? list) && list.ExpiresAt > TimeProvider.System.GetUtcNow()
            && list.Queues.IsCompletedSuccessfully && list.Queues.Result.Count > 0
                ? new ValueTask<IReadOnlyList<SqsQueue>>(list.Queues.Result)
                : new ValueTask<IReadOnlyList<SqsQueue>>(ListOrWaitForGroupQueuesAsync(destination, cancellationToken));
    }

    private async Task<IReadOnlyList<SqsQueue>> ListOrWaitForGroupQueuesAsync(string destination, CancellationToken cancellationToken)
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
        // A partial delete waits (up to 10 ms) for the acknowledgements of the other messages the bus is handling. Who
        // awaits a delete (the receiver's settlement, then the bus's acknowledgement bookkeeping) continues on the thread
        // that completes the batch: short work, and one thread-pool work item per batch instead of one per message.
        queue.Deleter = new SqsBatcher<string>(
            batch => DeleteBatchAsync(queue, batch), _ => 0, Options.MaxBatchesInFlight, int.MaxValue,
            new SqsBatcher<string>.Gather(() => queue.DeletesExpected, SqsQueue.DeleteLinger, TimeProvider.System), continueInline: true);
        return queue;
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

    private sealed record GroupList(Task<IReadOnlyList<SqsQueue>> Queues, DateTimeOffset ExpiresAt);
}
