using System.Text;

namespace Switchboard.Kafka;

/// <summary>
/// The header values of one reader (a receiver's poll thread; not thread-safe) that are the same on every record of a type
/// (<see cref="KafkaHeaderWriter.IsConstantPerType"/>: spec version, type, source, content type): each is decoded once, and
/// its string is reused while a record's bytes equal the ones it was decoded from (four strings fewer per record).
/// </summary>
internal sealed class KafkaHeaderValues
{
    // A topic carries few types from few sources; values past the bound (headers set by hand to ever-changing values) are
    // decoded per record like any other.
    private const int MaxKnown = 64;
    private readonly List<(string Name, byte[] Bytes, string Value)> _known = [];

    public string Decode(string name, byte[] bytes)
    {
        if (!KafkaHeaderWriter.IsConstantPerType(name))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        foreach ((string knownName, byte[] knownBytes, string value) in _known)
        {
            if (knownName == name && bytes.AsSpan().SequenceEqual(knownBytes))
            {
                return value;
            }
        }

        string decoded = Encoding.UTF8.GetString(bytes);
        if (_known.Count < MaxKnown)
        {
            _known.Add((name, bytes, decoded));
        }

        return decoded;
    }
}
