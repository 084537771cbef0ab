namespace Switchboard.AmazonSqs;

/// <summary>Options of an <see cref="SqsTransport"/> (seed 000's <c>SqsEventBusAdapter(queue_name)</c>, grown up).</summary>
/// <remarks>
/// The consumer group is the bus's name (<see cref="BusOptions.Name"/>), as on every transport: one queue per destination
/// and group, named <c>{QueueNamePrefix}{destination}--{group}</c>, with <c>--dlq</c> beside it (and <c>.fifo</c> at the
/// end of both when <see cref="Fifo"/> is on). How many messages a process handles at once is the bus's
/// <see cref="BusOptions.ConsumerConcurrency"/>, the same for every transport. Credentials come from the AWS SDK's normal
/// chain (environment, profile, instance role) unless <see cref="AccessKeyId"/> and <see cref="SecretAccessKey"/> are
/// set; they are never logged nor quoted in errors.
/// </remarks>
public sealed class SqsTransportOptions
{
    /// <summary>The longest visibility SQS allows, counted from when a message was received: 12 hours.</summary>
    public static readonly TimeSpan MaxVisibility = TimeSpan.FromHours(12);

    /// <summary>Gets or sets the AWS region, for example <c>eu-west-1</c>, or <see langword="null"/> for the SDK's normal chain (<c>AWS_REGION</c>, profile).</summary>
    /// <value>The default value is <see langword="null"/>; with <see cref="ServiceUrl"/> set and no region, <c>us-east-1</c> is used for signing.</value>
    public string? Region { get; set; }

    /// <summary>Gets or sets the SQS endpoint, for an emulator or a VPC endpoint (for example <c>http://127.0.0.1:9324</c>), or <see langword="null"/> for the region's endpoint.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? ServiceUrl { get; set; }

    /// <summary>Gets or sets an access key id from configuration; leave it and <see cref="SecretAccessKey"/> unset to use the SDK's credential chain. Never logged.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? AccessKeyId { get; set; }

    /// <summary>Gets or sets the secret access key matching <see cref="AccessKeyId"/>. Never logged.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? SecretAccessKey { get; set; }

    /// <summary>Gets or sets the prefix of every queue the transport creates or looks for; it also scopes the discovery of a destination's groups.</summary>
    /// <value>The default value is <c>switchboard-</c>.</value>
    public string QueueNamePrefix { get; set; } = "switchboard-";

    /// <summary>Gets or sets how long one receive waits for a message (long polling, <c>WaitTimeSeconds</c>); whole seconds, 0 to 20.</summary>
    /// <value>The default value is 20 seconds.</value>
    public TimeSpan WaitTime { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Gets or sets how long a received message stays hidden from other consumers. While a handler runs, the transport
    /// extends it (<c>ChangeMessageVisibility</c>) every third of this time; a consumer that dies lets the message come
    /// back after at most this long. Whole seconds, 1 second to 12 hours.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long in total the transport keeps extending one message's lease. SQS refuses a visibility beyond
    /// 12 hours from the receive; at this limit the transport logs a warning and stops extending (the message may then be
    /// delivered again while its handler still runs).
    /// </summary>
    /// <value>The default value is 12 hours, SQS's limit.</value>
    public TimeSpan MaxLeaseDuration { get; set; } = MaxVisibility;

    /// <summary>Gets or sets how many messages one receive asks for (<c>MaxNumberOfMessages</c>), 1 to 10.</summary>
    /// <value>The default value is 10.</value>
    public int MaxMessagesPerReceive { get; set; } = 10;

    /// <summary>Gets or sets how many batch requests (<c>SendMessageBatch</c>, <c>DeleteMessageBatch</c>) may be in flight per queue; concurrent sends and acknowledgements beyond that wait and are coalesced into batches of up to 10.</summary>
    /// <value>The default value is 4.</value>
    public int MaxBatchesInFlight { get; set; } = 4;

    /// <summary>
    /// Gets or sets the redrive policy's <c>maxReceiveCount</c> on every group queue: the backstop that moves a message SQS
    /// delivered this many times to the group's dead-letter queue, for a message whose consumer crashes before it can
    /// settle it. It must be larger than the bus's <see cref="RetryOptions.MaxAttempts"/>, so that the bus dead-letters a
    /// failing message itself, with the reason.
    /// </summary>
    /// <value>The default value is 10.</value>
    public int RedriveMaxReceiveCount { get; set; } = 10;

    /// <summary>Gets or sets whether failed messages go to the group's dead-letter queue; when <see langword="false"/> they are deleted (the bus logs them) and no redrive policy is set.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DeadLetterEnabled { get; set; } = true;

    /// <summary>
    /// Gets or sets whether each header (the CloudEvents <c>ce-*</c> names, your own) travels as a message attribute of
    /// its own, readable in the console and usable by tools that filter on attributes (at most nine; the rest are packed
    /// into one); takes precedence over <see cref="HeadersInBody"/>. When <see langword="false"/>, the headers travel in the
    /// body's envelope (<see cref="HeadersInBody"/>, the default) or as JSON in one attribute, <c>sb-headers</c>: SQS
    /// and the SDK work per attribute (the SDK hashes each on send and checks each hash on receive), so one attribute
    /// instead of seven makes each message markedly cheaper. Receivers read both forms, so the setting can differ between
    /// services. Dead letters always carry their reason, exception and attempts as attributes of their own.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool HeadersAsAttributes { get; set; }

    /// <summary>
    /// Gets or sets whether a message travels as one JSON envelope in its body, <c>{"sb-envelope":1,"headers":{...},
    /// "data":...}</c> (the payload as it is when it is JSON, <c>data_base64</c> otherwise), with no message attribute.
    /// Attributes are what SQS and the SDK pay for per message (measured against the emulator: one attribute cost a raw
    /// send/receive/delete loop a third of its rate, the same headers in the body a few percent). When
    /// <see langword="false"/>, the body is the bare payload and the headers travel in one attribute, <c>sb-headers</c>
    /// (or one each with <see cref="HeadersAsAttributes"/>, which takes precedence): the form for consumers that are not
    /// Switchboard and expect the payload alone. Receivers read every form, so services can differ in the setting.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool HeadersInBody { get; set; } = true;

    /// <summary>
    /// Gets or sets whether the queues are FIFO queues: messages with the same partition key (<c>MessageGroupId</c>) are
    /// delivered in the order sent, one at a time, and the message id is the <c>MessageDeduplicationId</c>.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Fifo { get; set; }

    /// <summary>
    /// Gets or sets whether the transport creates its queues (with their redrive policy). Turn it off when an operator
    /// creates them and the application's IAM role may only send, receive, delete and change visibility.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CreateTopology { get; set; } = true;

    /// <summary>
    /// Gets or sets how long a sender trusts its list of a destination's group queues before it lists them again. A send
    /// goes to every group queue of its destination (fan-out); a group created after the list was read receives the
    /// destination's messages from the next listing on.
    /// </summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan GroupDiscoveryInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how long <see cref="SqsHealthCheck"/> waits for SQS to answer before it reports it unhealthy.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the options and throws a clear exception for the first invalid one. Credentials are never quoted.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        if (ServiceUrl is not null && (!ServiceUrl.IsAbsoluteUri || (ServiceUrl.Scheme != Uri.UriSchemeHttp && ServiceUrl.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException("SqsTransportOptions.ServiceUrl must be an absolute http:// or https:// URL.", nameof(ServiceUrl));
        }

        if (ServiceUrl is null && string.IsNullOrWhiteSpace(Region) && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_REGION"))
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION")) && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_PROFILE")))
        {
            throw new ArgumentException("SqsTransportOptions needs a Region (or a ServiceUrl, or AWS_REGION / AWS_PROFILE in the environment).", nameof(Region));
        }

        if ((AccessKeyId is null) != (SecretAccessKey is null) || (AccessKeyId is not null && (AccessKeyId.Length == 0 || SecretAccessKey!.Length == 0)))
        {
            throw new ArgumentException("SqsTransportOptions.AccessKeyId and SecretAccessKey are set together (both non-empty) or not at all.", nameof(AccessKeyId));
        }

        if (QueueNamePrefix is null || QueueNamePrefix.Length > 20 || !SqsQueueNames.IsValidPart(QueueNamePrefix))
        {
            throw new ArgumentException("SqsTransportOptions.QueueNamePrefix must be at most 20 characters of letters, digits, '-' and '_'.", nameof(QueueNamePrefix));
        }

        if (WaitTime < TimeSpan.Zero || WaitTime > TimeSpan.FromSeconds(20) || WaitTime.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException($"SqsTransportOptions.WaitTime must be whole seconds from 0 to 20 (it is {WaitTime}).", nameof(WaitTime));
        }

        if (VisibilityTimeout < TimeSpan.FromSeconds(1) || VisibilityTimeout > MaxVisibility || VisibilityTimeout.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException($"SqsTransportOptions.VisibilityTimeout must be whole seconds from 1 second to 12 hours (it is {VisibilityTimeout}).", nameof(VisibilityTimeout));
        }

        if (MaxLeaseDuration < VisibilityTimeout || MaxLeaseDuration > MaxVisibility)
        {
            throw new ArgumentException($"SqsTransportOptions.MaxLeaseDuration must be between the VisibilityTimeout and 12 hours (it is {MaxLeaseDuration}).", nameof(MaxLeaseDuration));
        }

        if (MaxMessagesPerReceive is < 1 or > 10)
        {
            throw new ArgumentException($"SqsTransportOptions.MaxMessagesPerReceive must be between 1 and 10 (it is {MaxMessagesPerReceive}).", nameof(MaxMessagesPerReceive));
        }

        if (MaxBatchesInFlight is < 1 or > 64)
        {
            throw new ArgumentException($"SqsTransportOptions.MaxBatchesInFlight must be between 1 and 64 (it is {MaxBatchesInFlight}).", nameof(MaxBatchesInFlight));
        }

        if (RedriveMaxReceiveCount is < 1 or > 1000)
        {
            throw new ArgumentException($"SqsTransportOptions.RedriveMaxReceiveCount must be between 1 and 1000 (it is {RedriveMaxReceiveCount}).", nameof(RedriveMaxReceiveCount));
        }

        if (HealthCheckTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"SqsTransportOptions.HealthCheckTimeout must be positive (it is {HealthCheckTimeout}).", nameof(HealthCheckTimeout));
        }

        if (GroupDiscoveryInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("SqsTransportOptions.GroupDiscoveryInterval must not be negative.", nameof(GroupDiscoveryInterval));
        }
    }

    internal SqsTransportOptions Clone() => (SqsTransportOptions)MemberwiseClone();
}
