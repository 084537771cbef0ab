using System.Buffers;

namespace Switchboard.Serialization;

/// <summary>Turns message bodies into bytes and back for transports, the outbox and the response store.</summary>
public interface IMessageSerializer
{
    /// <summary>Gets the media type of the bytes, written to the <c>content-type</c> header, for example <c>application/json</c>.</summary>
    string ContentType { get; }

    /// <summary>Writes a value.</summary>
    /// <param name="value">The value; may be <see langword="null"/> for a result.</param>
    /// <param name="type">The type to serialize as.</param>
    /// <param name="output">Where the bytes go.</param>
    void Serialize(object? value, Type type, IBufferWriter<byte> output);

    /// <summary>Reads a value of a type that the caller took from the allow-list.</summary>
    /// <param name="body">The bytes.</param>
    /// <param name="type">The type to read.</param>
    /// <returns>The value.</returns>
    /// <exception cref="MessageSerializationException">The bytes are not a valid <paramref name="type"/>.</exception>
    object? Deserialize(ReadOnlySpan<byte> body, Type type);
}
