namespace Switchboard.Routing;

/// <summary>
/// A topic pattern: segments separated by <c>/</c>; <c>*</c> matches exactly one segment and <c>#</c>, allowed only as
/// the last segment, matches any tail including none (<c>orders/#</c> matches <c>orders</c> and <c>orders/eu/created</c>).
/// Public so that test helpers and tools match topics exactly as the bus does.
/// </summary>
public sealed class TopicPattern
{
    private readonly string[] _segments;
    private readonly bool _tail;
    private readonly bool _literal;

    private TopicPattern(string pattern, string[] segments, bool tail, bool literal)
    {
        Pattern = pattern;
        _segments = segments;
        _tail = tail;
        _literal = literal;
    }

    /// <summary>Gets the pattern as written.</summary>
    public string Pattern { get; }

    /// <summary>Parses a pattern.</summary>
    /// <param name="pattern">The pattern, for example <c>orders/*</c> or <c>orders/#</c>.</param>
    /// <returns>The parsed pattern.</returns>
    /// <exception cref="ArgumentException">The pattern is empty or has <c>#</c> anywhere but as its last segment.</exception>
    public static TopicPattern Parse(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        string[] segments = pattern.Split('/');
        bool tail = false;
        bool literal = true;
        for (int i = 0; i < segments.Length; i++)
        {
            string segment = segments[i];
            if (segment.Length == 0)
            {
                throw new ArgumentException($"Topic pattern '{pattern}' has an empty segment; segments are separated by single '/' characters.", nameof(pattern));
            }

            if (segment == "#")
            {
                if (i != segments.Length - 1)
                {
                    throw new ArgumentException($"Topic pattern '{pattern}' uses '#' before its last segment; '#' matches the tail and must come last.", nameof(pattern));
                }

                tail = true;
                literal = false;
            }
            else if (segment == "*")
            {
                literal = false;
            }
            else if (segment.Contains('*', StringComparison.Ordinal) || segment.Contains('#', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Topic pattern '{pattern}' mixes a wildcard with text in segment '{segment}'; '*' and '#' must stand alone.", nameof(pattern));
            }
        }

        return new TopicPattern(pattern, tail ? segments[..^1] : segments, tail, literal);
    }

    internal static void ValidateTopic(string topic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        if (topic.Contains('*', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Topic '{topic}' contains a wildcard; wildcards belong in subscription patterns, a published topic is literal.", nameof(topic));
        }
    }

    /// <summary>Returns whether a published (literal) topic matches this pattern.</summary>
    /// <param name="topic">The topic.</param>
    /// <returns><see langword="true"/> when it matches.</returns>
    public bool Matches(string topic)
    {
        if (_literal)
        {
            return string.Equals(Pattern, topic, StringComparison.Ordinal);
        }

        int position = 0;
        foreach (string expected in _segments)
        {
            if (position > topic.Length)
            {
                return false; // the topic has fewer segments than the pattern
            }

            int end = topic.IndexOf('/', position);
            if (end < 0)
            {
                end = topic.Length;
            }

            if (expected != "*" && !topic.AsSpan(position, end - position).SequenceEqual(expected))
            {
                return false;
            }

            position = end + 1;
        }

        // Exactly as many segments as the pattern, or more of them for a '#' tail.
        return position == topic.Length + 1 || _tail;
    }

    /// <inheritdoc/>
    public override string ToString() => Pattern;
}
