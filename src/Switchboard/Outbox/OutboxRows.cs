using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Outbox;

/// <summary>What every outbox store writes the same way: the headers column and the destination of local messages.</summary>
public static class OutboxRows
{
    /// <summary>
    /// The destination of a row whose message is handled by this application's own handlers rather than sent to a transport.
    /// </summary>
    public const string LocalDestination = "switchboard:local";

    /// <summary>Writes headers as a JSON object, the format of the <c>headers</c> column.</summary>
    /// <param name="headers">The headers.</param>
    /// <returns>The JSON text.</returns>
    public static string SerializeHeaders(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        Dictionary<string, string> copy = headers as Dictionary<string, string> ?? new Dictionary<string, string>(headers, StringComparer.Ordinal);
        return JsonSerializer.Serialize(copy, OutboxJsonContext.Default.DictionaryStringString);
    }

    /// <summary>Reads the <c>headers</c> column.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The headers.</returns>
    /// <exception cref="FormatException">The text is not a JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> DeserializeHeaders(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            Dictionary<string, string>? headers = JsonSerializer.Deserialize(json, OutboxJsonContext.Default.DictionaryStringString);
            return headers is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(headers, StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The outbox row's headers are not a JSON object of strings: {ex.Message}", ex);
        }
    }
}

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class OutboxJsonContext : JsonSerializerContext;
