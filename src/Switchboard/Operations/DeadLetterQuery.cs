using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>Which dead letters to read: filters (all optional, combined with "and") and one page of them.</summary>
public sealed record DeadLetterQuery
{
    /// <summary>Gets the message type (the <c>ce-type</c> header) a dead letter must have, compared ignoring case; <see langword="null"/> for any.</summary>
    public string? MessageType { get; init; }

    /// <summary>Gets text the exception's type name must contain (ignoring case), for example <c>TimeoutException</c>; <see langword="null"/> for any.</summary>
    public string? ExceptionType { get; init; }

    /// <summary>Gets text the reason or the exception details must contain (ignoring case); <see langword="null"/> for any.</summary>
    public string? Text { get; init; }

    /// <summary>Gets the earliest dead-letter time, inclusive; <see langword="null"/> for no lower bound.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Gets the latest dead-letter time, exclusive; <see langword="null"/> for no upper bound.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Gets the most dead letters one page holds. The default value is 50.</summary>
    public int PageSize { get; init; } = 50;

    /// <summary>Gets where the page starts: <see cref="DeadLetterPage.NextCursor"/> of the previous page, or <see langword="null"/> for the first.</summary>
    public string? Cursor { get; init; }

    /// <summary>
    /// Gets the most dead letters one query reads from a queue that cannot filter itself (read, then filtered here). The
    /// default value is 10,000.
    /// </summary>
    public int ScanLimit { get; init; } = 10_000;

    /// <summary>Gets whether the query filters at all.</summary>
    public bool HasFilter => MessageType is not null || ExceptionType is not null || Text is not null || From is not null || To is not null;

    /// <summary>Returns whether a dead letter passes the filters (paging aside).</summary>
    /// <param name="message">The dead letter.</param>
    /// <returns><see langword="true"/> when it passes.</returns>
    public bool Matches(DeadLetterMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (MessageType is { Length: > 0 } type && !string.Equals(message.Message.GetHeader(MessageHeaders.MessageType), type, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (ExceptionType is { Length: > 0 } exception
            && (message.Reason.ExceptionType is not { } actual || !actual.Contains(exception, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        if (Text is { Length: > 0 } text
            && !message.Reason.Reason.Contains(text, StringComparison.OrdinalIgnoreCase)
            && !(message.Reason.ExceptionDetails?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return false;
        }

        return (From is not { } from || message.DeadLetteredAt >= from) && (To is not { } to || message.DeadLetteredAt < to);
    }

    /// <summary>Checks the paging values.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="PageSize"/> or <see cref="ScanLimit"/> is not positive.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PageSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ScanLimit);
    }
}

/// <summary>One page of dead letters.</summary>
/// <param name="Items">The dead letters on this page, oldest first.</param>
/// <param name="NextCursor">The cursor of the next page, or <see langword="null"/> when this is the last.</param>
/// <param name="Total">Every dead letter in the queue, filtered or not.</param>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetterMessage> Items, string? NextCursor, long Total);

/// <summary>How far a bulk replay or delete is.</summary>
/// <param name="Total">The dead letters selected when the operation started.</param>
/// <param name="Done">The ones settled so far (replayed or deleted now, or already gone).</param>
/// <param name="Succeeded">The ones this operation replayed or deleted.</param>
public readonly record struct DeadLetterProgress(int Total, int Done, int Succeeded);

/// <summary>What a bulk replay or delete did.</summary>
/// <param name="Selected">The dead letters selected when it started.</param>
/// <param name="Succeeded">The ones it replayed or deleted.</param>
/// <param name="Missing">The ones that were gone by the time it reached them (replayed or deleted meanwhile by someone else).</param>
/// <param name="Cancelled">Whether it was cancelled before the end; what it did until then stays done.</param>
public sealed record DeadLetterBulkResult(int Selected, int Succeeded, int Missing, bool Cancelled);
