using System.Buffers;
using System.Text.Json;

namespace Switchboard.Serialization;

/// <summary>The default serializer: System.Text.Json with web defaults (camelCase names, case-insensitive reads).</summary>
public sealed class JsonMessageSerializer : IMessageSerializer
{
    /// <summary>Creates a serializer with <see cref="JsonSerializerDefaults.Web"/> options.</summary>
    public JsonMessageSerializer()
        : this(new JsonSerializerOptions(JsonSerializerDefaults.Web))
    {
    }

    /// <summary>Creates a serializer with the given options.</summary>
    /// <param name="options">
    /// The options; also used for topic payload conversion. Under Native AOT (reflection off) their
    /// <see cref="JsonSerializerOptions.TypeInfoResolver"/> must cover the message types, for example a source-generated
    /// <c>JsonSerializerContext</c>; <see cref="BusBuilder.UseJsonTypeInfoResolver"/> sets that up for the default serializer.
    /// </param>
    public JsonMessageSerializer(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = WithDefaultResolver(options);
    }

    /// <summary>Gets the JSON options.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>
    /// Gives options without metadata the reflection-based resolver where reflection is on (what System.Text.Json does
    /// itself on first use), so that the metadata can be asked for by type. Under Native AOT it is off and the options must
    /// carry a source-generated context.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only when JsonSerializer.IsReflectionEnabledByDefault, which trimmed and AOT applications turn off.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above.")]
    internal static JsonSerializerOptions WithDefaultResolver(JsonSerializerOptions options)
    {
        if (options.TypeInfoResolver is null && !options.IsReadOnly && JsonSerializer.IsReflectionEnabledByDefault)
        {
            options.TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver();
        }

        return options;
    }

    /// <inheritdoc />
    public string ContentType => "application/json";

    /// <inheritdoc />
    public void Serialize(object? value, Type type, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(output);
        try
        {
            using Utf8JsonWriter writer = new(output);
            JsonSerializer.Serialize(writer, value, Options.GetTypeInfo(type));
        }
        catch (NotSupportedException ex)
        {
            throw new MessageSerializationException($"{type.Name} cannot be written as JSON: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public object? Deserialize(ReadOnlySpan<byte> body, Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        try
        {
            return JsonSerializer.Deserialize(body, Options.GetTypeInfo(type));
        }
        catch (JsonException ex)
        {
            throw new MessageSerializationException($"The body is not a valid {type.Name}: {ex.Message}", ex);
        }
        catch (NotSupportedException ex)
        {
            throw new MessageSerializationException($"{type.Name} cannot be read from JSON: {ex.Message}", ex);
        }
    }
}
