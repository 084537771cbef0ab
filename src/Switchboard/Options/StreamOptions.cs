using System.Threading.Channels;

namespace Switchboard;

/// <summary>The buffer of one <see cref="EventStream{T}"/>.</summary>
public sealed class StreamOptions
{
    /// <summary>How many events the stream holds before <see cref="FullMode"/> applies.</summary>
    /// <value>The default value is 1024.</value>
    public int Capacity { get; init; } = 1024;

    /// <summary>What a publish does when the buffer is full.</summary>
    /// <value>The default value is <see cref="BoundedChannelFullMode.Wait"/>: the publisher waits for the consumer (back-pressure).</value>
    public BoundedChannelFullMode FullMode { get; init; } = BoundedChannelFullMode.Wait;

    /// <summary>The defaults.</summary>
    public static StreamOptions Default { get; } = new();
}
