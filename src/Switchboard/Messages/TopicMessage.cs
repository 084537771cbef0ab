using System.Text.Json;

namespace Switchboard;

/// <summary>An event published on a string topic, as a topic subscriber receives it.</summary>
public sealed class TopicMessage
{
    private readonly JsonSerializerOptions _jsonOptions;

    internal TopicMessage(string topic, object payload, JsonSerializerOptions jsonOptions)
    {
        Topic = topic;
        Payload = payload;
        _jsonOptions = jsonOptions;
    }

    /// <summary>Gets the topic the payload was published on, for example <c>orders/created</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets the payload exactly as it was published.</summary>
    public object Payload { get; }

    /// <summary>
    /// Returns the payload as <typeparamref name="T"/>: the payload itself when it already is one, otherwise the payload
    /// converted through its JSON form (an anonymous object, a dictionary or a record of the same shape all convert).
    /// </summary>
    /// <typeparam name="T">The requested type.</typeparam>
    /// <returns>The converted payload.</returns>
    /// <exception cref="InvalidCastException">The payload has no JSON form that converts to <typeparamref name="T"/>.</exception>
    public T As<T>()
    {
        if (Payload is T typed)
        {
            return typed;
        }

        try
        {
            // Through the options' metadata: a source-generated context under Native AOT, reflection where it is on.
            JsonElement json = Payload as JsonElement? ?? JsonSerializer.SerializeToElement(Payload, _jsonOptions.GetTypeInfo(Payload.GetType()));
            return json.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)_jsonOptions.GetTypeInfo(typeof(T)))
                ?? throw new InvalidCastException($"The payload of topic '{Topic}' is null as {typeof(T).Name}.");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            throw new InvalidCastException(
                $"The payload of topic '{Topic}' ({Payload.GetType().Name}) cannot be converted to {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Topic;
}
