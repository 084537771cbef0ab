namespace Switchboard;

/// <summary>The settings of one bus. Every value has a documented default, and the bus validates them when it is built.</summary>
public sealed class BusOptions
{
    private string? _name;

    /// <summary>
    /// The bus's name, in logs, spans, metrics, as its default endpoint (queue) name and, on a broker, as the consumer group
    /// it joins: buses with the same name share the work of a destination, buses with different names each get every
    /// event. Give every service its own.
    /// </summary>
    /// <value>
    /// The default value is <c>switchboard</c> on the in-memory transport. On a broker (a transport that declares <see cref="Transport.TransportCapabilities.Durable"/>) a bus left without a
    /// name takes its entry assembly's name (and logs it), so that two services never silently split each other's events;
    /// without an entry assembly it refuses to start until a name is set.
    /// </value>
    public string Name
    {
        get => _name ?? "switchboard";
        set => _name = value;
    }

    /// <summary>Gets whether <see cref="Name"/> was set rather than left at its default.</summary>
    internal bool NameIsSet => _name is not null;

    /// <summary>What a handler's exception does to <c>PublishAsync</c>; a publish can override it with <see cref="PublishOptions.HandlerErrors"/>.</summary>
    /// <value>The default value is <see cref="HandlerErrorMode.Isolate"/>: logged, counted, traced, and the other handlers run (seed 001).</value>
    public HandlerErrorMode HandlerErrors { get; set; } = HandlerErrorMode.Isolate;

    /// <summary>Whether to create spans. Off, the bus never touches <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    /// <value>The default value is <see langword="true"/> (spans are still only created while a listener is attached).</value>
    public bool EnableTracing { get; set; } = true;

    /// <summary>
    /// Whether the bus counts its in-process work for <see cref="IMessageBus.GetStatistics"/> (events, handler invocations,
    /// handler errors, commands, requests, background publishes). The counts are exact under any number of threads, which
    /// costs about two nanoseconds per dispatch (a thread-local read). Off, those counts stay 0 and the bus never reads
    /// thread-local state on its fast paths; transport statistics, metrics and spans are unaffected.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool EnableStatistics { get; set; } = true;

    /// <summary>How many background publishes may wait in the queue before <c>PublishAsync</c> with <see cref="PublishOptions.Background"/> waits for room.</summary>
    /// <value>The default value is 10 000.</value>
    public int BackgroundQueueCapacity { get; set; } = 10_000;

    /// <summary>How many background publishes run at once.</summary>
    /// <value>The default value is the processor count.</value>
    public int BackgroundConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>How many messages from a transport one consumer handles at once.</summary>
    /// <value>The default value is the processor count.</value>
    public int ConsumerConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>The default wait for a result that crosses a transport (<c>ExecuteAsync</c>, remote <c>RequestAsync</c>).</summary>
    /// <value>The default value is 30 seconds (seed 000).</value>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a worker's result is kept in the response store for its sender.</summary>
    /// <value>The default value is 60 seconds (seed 000's <c>default_ttl_seconds</c>).</value>
    public TimeSpan ResponseTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest serialized message a transport will send or accept; larger ones are refused or dead-lettered.</summary>
    /// <value>The default value is 1 MiB.</value>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>How long <c>DisposeAsync</c> and a stopping host let in-flight and queued work finish.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How failed messages received from a transport are retried before they are dead-lettered.</summary>
    public RetryOptions Retry { get; } = new();

    /// <summary>
    /// What the application relies on from its transport: the bus refuses to build (with a <see cref="BusConfigurationException"/>
    /// naming the transport and the missing capabilities) when the transport does not declare every one of them, instead of
    /// running without, for example, per-key order or durability.
    /// </summary>
    /// <value>The default value is <see cref="Transport.TransportCapabilities.None"/>: nothing required.</value>
    public Transport.TransportCapabilities RequiredCapabilities { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new BusConfigurationException("BusOptions.Name must not be empty.");
        }

        if (BackgroundQueueCapacity < 1)
        {
            throw new BusConfigurationException($"BusOptions.BackgroundQueueCapacity must be at least 1 (it is {BackgroundQueueCapacity}).");
        }

        if (BackgroundConcurrency < 1)
        {
            throw new BusConfigurationException($"BusOptions.BackgroundConcurrency must be at least 1 (it is {BackgroundConcurrency}).");
        }

        if (ConsumerConcurrency < 1)
        {
            throw new BusConfigurationException($"BusOptions.ConsumerConcurrency must be at least 1 (it is {ConsumerConcurrency}).");
        }

        if (DefaultTimeout <= TimeSpan.Zero || ResponseTtl <= TimeSpan.Zero)
        {
            throw new BusConfigurationException("BusOptions.DefaultTimeout and ResponseTtl must be positive.");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            throw new BusConfigurationException("BusOptions.ShutdownTimeout cannot be negative.");
        }

        if (MaxMessageBytes < 1)
        {
            throw new BusConfigurationException($"BusOptions.MaxMessageBytes must be positive (it is {MaxMessageBytes}).");
        }

        Retry.Validate();
    }
}
