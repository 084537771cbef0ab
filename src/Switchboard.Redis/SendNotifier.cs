using System.Diagnostics;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Wakes idle receivers of one destination after sends, without one notification per message under load: a send more
/// than <see cref="MinimumGap"/> after the last notification publishes one at once (no added latency for requests and
/// light traffic); sends closer together are covered by one trailing notification published a millisecond later, after
/// them. Every send is thus followed by a notification published after it.
/// </summary>
internal sealed class SendNotifier(ISubscriber subscriber, RedisChannel channel)
{
    private static readonly long MinimumGap = Stopwatch.Frequency / 5000; // 200 µs
    private readonly Lock _gate = new();
    private long _lastPublished = long.MinValue / 2;
    private bool _trailing;

    public void Signal()
    {
        bool now = false;
        bool scheduleTrailing = false;
        lock (_gate)
        {
            long time = Stopwatch.GetTimestamp();
            if (time - _lastPublished >= MinimumGap)
            {
                _lastPublished = time;
                now = true;
            }
            else if (!_trailing)
            {
                _trailing = true;
                scheduleTrailing = true;
            }
        }

        if (now)
        {
            Publish();
        }
        else if (scheduleTrailing)
        {
            _ = TrailingAsync();
        }
    }

    private async Task TrailingAsync()
    {
        await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System).ConfigureAwait(false);
        lock (_gate)
        {
            // Sends that found _trailing set did so before this point: the publish below comes after each of them.
            _trailing = false;
            _lastPublished = Stopwatch.GetTimestamp();
        }

        Publish();
    }

    private void Publish()
    {
        try
        {
            subscriber.Publish(channel, 1, CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis is unreachable: receivers fall back to their BlockTime poll.
        }
    }
}
