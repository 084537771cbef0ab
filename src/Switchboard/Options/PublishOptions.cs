namespace Switchboard;

/// <summary>How one publish behaves.</summary>
public sealed class PublishOptions
{
    /// <summary>Publish in the background: the call returns once the event is queued to the bus's worker pool (seed 001's <c>background=True</c>).</summary>
    /// <value>The default value is <see langword="false"/>: the call returns when every handler has finished.</value>
    public bool Background { get; init; }

    /// <summary>What a handler's exception does to this publish; <see langword="null"/> uses <see cref="BusOptions.HandlerErrors"/>.</summary>
    public HandlerErrorMode? HandlerErrors { get; init; }

    /// <summary>The correlation id to give the event; a new conversation when <see langword="null"/>.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Headers to carry with the event, read by handlers through <see cref="MessageContext.Headers"/>.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Background publishing with the bus's defaults.</summary>
    public static PublishOptions InBackground { get; } = new() { Background = true };
}

/// <summary>What a handler's exception does to a publish.</summary>
public enum HandlerErrorMode
{
    /// <summary>The exception is logged, counted and traced; the other handlers still run and the publish succeeds (seed 001).</summary>
    Isolate,

    /// <summary>The other handlers still run; then the publish throws an <see cref="AggregateException"/> holding every handler's exception.</summary>
    Throw,
}
