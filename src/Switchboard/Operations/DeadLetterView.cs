using System.Globalization;
using System.Text;
using System.Text.Json;
using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>
/// A dead letter as operators see it, in plain strings: the one shape the dashboard's JSON API sends and the CLI prints.
/// The summary leaves <see cref="Headers"/>, <see cref="Body"/> and <see cref="ExceptionDetails"/> out.
/// </summary>
public sealed record DeadLetterView
{
    /// <summary>Gets the dead letter's id in its queue.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the source's id (<see cref="OperationsSource.Id"/>).</summary>
    public required string Source { get; init; }

    /// <summary>Gets the destination the message was sent to.</summary>
    public required string Destination { get; init; }

    /// <summary>Gets the consumer group that failed it.</summary>
    public required string ConsumerGroup { get; init; }

    /// <summary>Gets the message type (<c>ce-type</c>), or <see langword="null"/>.</summary>
    public string? MessageType { get; init; }

    /// <summary>Gets the message id (<c>ce-id</c>), or an empty string.</summary>
    public string MessageId { get; init; } = string.Empty;

    /// <summary>Gets the correlation id, or <see langword="null"/>.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Gets the partition key, or <see langword="null"/>.</summary>
    public string? PartitionKey { get; init; }

    /// <summary>Gets when the message was first sent (<c>ce-time</c>), or <see langword="null"/>.</summary>
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>Gets when it was dead-lettered (its last failure).</summary>
    public DateTimeOffset DeadLetteredAt { get; init; }

    /// <summary>Gets why.</summary>
    public string Reason { get; init; } = string.Empty;

    /// <summary>Gets the exception's type name, or <see langword="null"/>.</summary>
    public string? ExceptionType { get; init; }

    /// <summary>Gets the exception's message and stack trace (details only), or <see langword="null"/>.</summary>
    public string? ExceptionDetails { get; init; }

    /// <summary>Gets how many deliveries were attempted.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets the headers (details only).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Gets the body (details only): indented JSON, text, or base64 (see <see cref="BodyFormat"/>).</summary>
    public string? Body { get; init; }

    /// <summary>Gets <c>json</c>, <c>text</c> or <c>base64</c> (details only).</summary>
    public string? BodyFormat { get; init; }

    /// <summary>Gets the body's size in bytes.</summary>
    public int BodyBytes { get; init; }

    /// <summary>Creates the view of a dead letter.</summary>
    /// <param name="source">The source it was read from.</param>
    /// <param name="message">The dead letter.</param>
    /// <param name="details">Whether to include headers, body and exception details.</param>
    /// <returns>The view.</returns>
    public static DeadLetterView Create(OperationsSource source, DeadLetterMessage message, bool details)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(message);
        TransportMessage original = message.Message;
        DateTimeOffset? sentAt = DateTimeOffset.TryParse(original.GetHeader(MessageHeaders.Time), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset time) ? time : null;
        (string? body, string? format) = details ? FormatBody(original.Body) : (null, null);
        return new DeadLetterView
        {
            Id = message.Id,
            Source = source.Id,
            Destination = original.Destination,
            ConsumerGroup = message.ConsumerGroup,
            MessageType = original.GetHeader(MessageHeaders.MessageType),
            MessageId = original.MessageId,
            CorrelationId = original.GetHeader(MessageHeaders.CorrelationId),
            PartitionKey = original.PartitionKey,
            SentAt = sentAt,
            DeadLetteredAt = message.DeadLetteredAt,
            Reason = message.Reason.Reason,
            ExceptionType = message.Reason.ExceptionType,
            ExceptionDetails = details ? message.Reason.ExceptionDetails : null,
            Attempts = message.Reason.Attempts,
            Headers = details ? new SortedDictionary<string, string>(original.Headers.ToDictionary(), StringComparer.Ordinal) : null,
            Body = body,
            BodyFormat = format,
            BodyBytes = original.Body.Length,
        };
    }

    /// <summary>Formats a body for people: indented JSON when it parses as JSON, else UTF-8 text, else base64.</summary>
    /// <param name="body">The body.</param>
    /// <returns>The text and its format (<c>json</c>, <c>text</c> or <c>base64</c>).</returns>
    public static (string Text, string Format) FormatBody(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return (string.Empty, "text");
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                document.RootElement.WriteTo(writer);
            }

            return (Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), "json");
        }
        catch (JsonException)
        {
            // Not JSON: text if it is valid UTF-8.
        }

        try
        {
            return (StrictUtf8.GetString(body.Span), "text");
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToBase64String(body.Span), "base64");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

}
