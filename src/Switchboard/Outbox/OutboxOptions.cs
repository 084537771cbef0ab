namespace Switchboard.Outbox;

/// <summary>How the outbox dispatches, retries and cleans up, and how the inbox deduplicates.</summary>
public sealed class OutboxOptions
{
    /// <summary>
    /// Gets or sets whether a background dispatcher runs with the bus. Without it, rows are dispatched only by
    /// <see cref="IOutbox.ProcessAsync"/> (a job) or by other processes' dispatchers.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RunDispatcher { get; set; } = true;

    /// <summary>Gets or sets whether the bus creates or upgrades the tables when it starts.</summary>
    /// <value>The default value is <see langword="true"/>. Turn it off when migrations create the schema.</value>
    public bool CreateSchema { get; set; } = true;

    /// <summary>
    /// Gets or sets how long the dispatcher sleeps when nothing woke it. Commits in this process (and on PostgreSQL, in any
    /// process) wake it at once; polling only catches what nothing announced.
    /// </summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets how many rows one claim leases.</summary>
    /// <value>The default value is 100.</value>
    public int BatchSize { get; set; } = 100;

    /// <summary>Gets or sets how many partition keys of one batch are dispatched at the same time (rows of one key always go one at a time, in order).</summary>
    /// <value>The default value is 8.</value>
    public int Concurrency { get; set; } = 8;

    /// <summary>
    /// Gets or sets how long a claimed row stays reserved for its dispatcher. A dispatcher that died leaves its rows to others
    /// after this; a dispatch that takes longer may be repeated by another dispatcher (the inbox absorbs it).
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the retry policy of a row whose dispatch failed (transport refused, handler threw), before it is parked as dead.</summary>
    /// <value>By default 10 attempts, from 1 second doubling up to 5 minutes.</value>
    public RetryOptions Retry { get; } = new()
    {
        MaxAttempts = 10,
        InitialDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromMinutes(5),
    };

    /// <summary>Gets or sets how long dispatched rows are kept before they are deleted.</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan DispatchedRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how often expired rows and inbox records are deleted.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets whether messages received from a transport (and local messages dispatched from the outbox) are handled in
    /// a database transaction that also records their id, so that a redelivered duplicate has no second effect.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseInbox { get; set; } = true;

    /// <summary>
    /// Gets or sets the inbox's deduplication window: how long a processed message id is remembered. A duplicate that arrives
    /// later is handled again, so keep it longer than the longest redelivery delay of the transports (and the outbox's lease).
    /// </summary>
    /// <value>The default value is 7 days.</value>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Gets or sets whether messages cascaded from a handler (<see cref="MessageContext.PublishAsync{TEvent}(TEvent, CancellationToken)"/>)
    /// go through the outbox: in the handler's transaction when it has one, otherwise in a transaction of their own written
    /// after the handler succeeded.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CascadeThroughOutbox { get; set; } = true;

    /// <summary>Gets or sets the backlog above which the health check reports the outbox degraded.</summary>
    /// <value>The default value is 10,000 pending rows.</value>
    public long HealthyBacklog { get; set; } = 10_000;

    /// <summary>Gets or sets the age of the oldest pending row above which the health check reports the outbox degraded.</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan HealthyAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how long the health check waits for the database to answer before it reports the outbox unhealthy, whether
    /// or not the database client gives up by then (over a stalled network Npgsql's own timeouts add up to more: see
    /// docs/outbox-postgres.md, "Stalled networks").
    /// </summary>
    /// <value>The default value is 5 seconds, as the transports' <c>HealthCheckTimeout</c>.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        Retry.Validate();
        if (BatchSize < 1 || Concurrency < 1)
        {
            throw new BusConfigurationException($"OutboxOptions.BatchSize ({BatchSize}) and Concurrency ({Concurrency}) must be at least 1.");
        }

        if (PollInterval <= TimeSpan.Zero || LeaseDuration <= TimeSpan.Zero || CleanupInterval <= TimeSpan.Zero)
        {
            throw new BusConfigurationException("OutboxOptions.PollInterval, LeaseDuration and CleanupInterval must be positive.");
        }

        if (DispatchedRetention < TimeSpan.Zero || InboxRetention < TimeSpan.Zero)
        {
            throw new BusConfigurationException("OutboxOptions.DispatchedRetention and InboxRetention cannot be negative.");
        }

        if (HealthCheckTimeout <= TimeSpan.Zero)
        {
            throw new BusConfigurationException($"OutboxOptions.HealthCheckTimeout must be positive (it is {HealthCheckTimeout}).");
        }
    }
}
