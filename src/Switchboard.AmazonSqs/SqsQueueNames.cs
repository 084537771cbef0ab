using System.Security.Cryptography;
using System.Text;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Queue names: <c>{prefix}{destination}--{group}</c>, its dead-letter queue <c>...--dlq</c>, and <c>.fifo</c> on both
/// for FIFO queues. "--" appears only as the separator (runs of '-' in a name are folded), so the groups of a destination
/// are exactly the queues named <c>{prefix}{destination}--{something without "--"}</c>.
/// </summary>
internal static class SqsQueueNames
{
    public const string Separator = "--";
    public const string DeadLetterSuffix = "--dlq";
    public const string FifoSuffix = ".fifo";
    private const int MaxPart = 24;

    public static bool IsValidPart(string value)
    {
        foreach (char c in value)
        {
            if (!IsAllowed(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The start of every group queue's name of a destination (without the FIFO suffix).</summary>
    public static string GroupPrefix(string prefix, string destination) => prefix + Part(destination) + Separator;

    public static string Queue(string prefix, string destination, string group, bool fifo)
        => GroupPrefix(prefix, destination) + Part(group) + (fifo ? FifoSuffix : string.Empty);

    public static string DeadLetterQueue(string prefix, string destination, string group, bool fifo)
        => GroupPrefix(prefix, destination) + Part(group) + DeadLetterSuffix + (fifo ? FifoSuffix : string.Empty);

    /// <summary>Whether a queue listed under a destination's group prefix is a group queue (not a dead-letter queue, not another kind).</summary>
    public static bool IsGroupQueue(string queueName, string groupPrefix, bool fifo)
    {
        if (!queueName.StartsWith(groupPrefix, StringComparison.Ordinal) || queueName.EndsWith(FifoSuffix, StringComparison.Ordinal) != fifo)
        {
            return false;
        }

        string group = queueName[groupPrefix.Length..(queueName.Length - (fifo ? FifoSuffix.Length : 0))];
        return group.Length > 0 && !group.Contains(Separator, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads the destination and group parts of a group queue's or dead-letter queue's name under the prefix; false for
    /// any other queue. The parts are the names as the transport wrote them (<see cref="Part"/>), which map to themselves.
    /// </summary>
    public static bool TryParse(string queueName, string prefix, bool fifo, out string destination, out string group)
    {
        destination = group = string.Empty;
        if (!queueName.StartsWith(prefix, StringComparison.Ordinal) || queueName.EndsWith(FifoSuffix, StringComparison.Ordinal) != fifo)
        {
            return false;
        }

        string rest = queueName[prefix.Length..(queueName.Length - (fifo ? FifoSuffix.Length : 0))];
        if (rest.EndsWith(DeadLetterSuffix, StringComparison.Ordinal))
        {
            rest = rest[..^DeadLetterSuffix.Length];
        }

        int split = rest.IndexOf(Separator, StringComparison.Ordinal);
        if (split <= 0 || split + Separator.Length >= rest.Length || rest.IndexOf(Separator, split + Separator.Length, StringComparison.Ordinal) >= 0)
        {
            return false;
        }

        destination = rest[..split];
        group = rest[(split + Separator.Length)..];
        return true;
    }

    public static string NameOf(string queueUrl) => queueUrl[(queueUrl.LastIndexOf('/') + 1)..];

    /// <summary>
    /// A destination or group as a name part: letters, digits, '-' and '_' (others become '_'), runs of '-' folded to one,
    /// no '-' at either end, and at most 24 characters (longer ones keep their start and a hash of the whole).
    /// </summary>
    public static string Part(string value)
    {
        StringBuilder builder = new(value.Length);
        foreach (char c in value)
        {
            char mapped = IsAllowed(c) ? c : '_';
            if (mapped == '-' && builder.Length > 0 && builder[^1] == '-')
            {
                continue;
            }

            builder.Append(mapped);
        }

        string part = builder.ToString().Trim('-');
        if (part.Length == 0)
        {
            part = "_";
        }

        if (part.Length <= MaxPart)
        {
            return part;
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)), 0, 4);
        return part[..(MaxPart - 9)].TrimEnd('-') + "-" + hash;
    }

    private static bool IsAllowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
