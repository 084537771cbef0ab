namespace Switchboard.Responses;

/// <summary>
/// Where a worker leaves a handler's result for the sender that waits for it (seed 000). The sender and the worker must
/// use the same store: in process, <see cref="InMemoryResponseStore"/>; across processes, a shared one such as Redis.
/// </summary>
public interface IResponseStore
{
    /// <summary>Stores the response to a request; it expires after <paramref name="timeToLive"/>.</summary>
    /// <param name="correlationId">The request's correlation id.</param>
    /// <param name="response">The result or the failure.</param>
    /// <param name="timeToLive">How long the response is kept when nobody collects it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the response is stored.</returns>
    ValueTask StoreAsync(string correlationId, StoredResponse response, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for the response to a request: returns at once when it is already stored, otherwise when it arrives. The
    /// waiter is woken by the store, not by polling.
    /// </summary>
    /// <param name="correlationId">The request's correlation id.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The response.</returns>
    /// <exception cref="TimeoutException">No response arrived within <paramref name="timeout"/>.</exception>
    ValueTask<StoredResponse> WaitAsync(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>A handler's outcome as the response store keeps it: the serialized result, or the failure.</summary>
public sealed record StoredResponse
{
    /// <summary>Gets whether the handler succeeded.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Gets the serialized result (JSON <c>null</c> for a handler without a result).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Gets the media type of <see cref="Body"/>.</summary>
    public string ContentType { get; init; } = "application/json";

    /// <summary>Gets the failure's exception type name, when the handler failed.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Gets the failure's message, when the handler failed.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Creates a success.</summary>
    /// <param name="body">The serialized result.</param>
    /// <param name="contentType">Its media type.</param>
    /// <returns>The response.</returns>
    public static StoredResponse Success(ReadOnlyMemory<byte> body, string contentType) => new() { Succeeded = true, Body = body, ContentType = contentType };

    /// <summary>Creates a failure.</summary>
    /// <param name="errorType">The exception type name.</param>
    /// <param name="errorMessage">The exception message.</param>
    /// <returns>The response.</returns>
    public static StoredResponse Failure(string errorType, string errorMessage) => new() { Succeeded = false, ErrorType = errorType, ErrorMessage = errorMessage };
}
