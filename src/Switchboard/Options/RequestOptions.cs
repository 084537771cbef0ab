namespace Switchboard;

/// <summary>How one request behaves.</summary>
public sealed class RequestOptions
{
    /// <summary>
    /// How long to wait for the result before a <see cref="TimeoutException"/>. <see langword="null"/>: no limit for a
    /// local handler, <see cref="BusOptions.DefaultTimeout"/> across a transport.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The correlation id to give the request; a new conversation when <see langword="null"/>.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Headers to carry with the request.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>How one <see cref="IMessageBus.ExecuteAsync(object, ExecuteOptions?, CancellationToken)"/> behaves (seed 000).</summary>
public sealed class ExecuteOptions
{
    /// <summary>Wait for the handler's result. When <see langword="false"/> the message is only enqueued and the call returns <see langword="null"/>.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Wait { get; init; } = true;

    /// <summary>How long to wait for the result before a <see cref="TimeoutException"/>; <see langword="null"/> uses <see cref="BusOptions.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How long the worker's result is kept in the response store; <see langword="null"/> uses <see cref="BusOptions.ResponseTtl"/>.</summary>
    public TimeSpan? ResponseTtl { get; init; }

    /// <summary>The correlation id; a new one when <see langword="null"/>.</summary>
    public string? CorrelationId { get; init; }
}
