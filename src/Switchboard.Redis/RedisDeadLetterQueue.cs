using StackExchange.Redis;
using Switchboard.Operations;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>
/// The dead-letter stream of one consumer group: <c>{prefix}:{destination}:{group}:dlq</c>. Entry ids are the times the
/// messages were dead-lettered, so a time range and a page cursor are ranges of ids, read by <c>XRANGE</c> (no full scan).
/// </summary>
internal sealed class RedisDeadLetterQueue(RedisTransport transport, string destination, string group) : IDeadLetterQueue, IDeadLetterBrowser
{
    // Atomic: the entry is copied back (without its dead-letter headers, h:sb-dlq-*, nor the dlq:* fields of entries
    // written before the schema moved to core) and deleted, or nothing happens; two replays of one id cannot both send it.
    private const string ReplayScript = """
        local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        if #e == 0 then return 0 end
        local f = e[1][2]
        local out = {}
        for i = 1, #f, 2 do
          if string.sub(f[i], 1, 4) ~= 'dlq:' and string.sub(f[i], 1, 9) ~= 'h:sb-dlq-' then
            out[#out + 1] = f[i]
            out[#out + 1] = f[i + 1]
          end
        end
        redis.call('XADD', KEYS[2], '*', unpack(out))
        redis.call('XDEL', KEYS[1], ARGV[1])
        return 1
        """;

    private RedisKey Key => RedisKeys.DeadLetters(transport.Options.StreamPrefix, destination, group);

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        IDatabase db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        StreamEntry[] entries = await db.StreamRangeAsync(Key, "-", "+", count).WaitAsync(cancellationToken).ConfigureAwait(false);
        List<DeadLetterMessage> list = new(entries.Length);
        foreach (StreamEntry entry in entries)
        {
            list.Add(ToDeadLetter(entry));
        }

        return list;
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        IDatabase db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        return await db.StreamLengthAsync(Key).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ObjectDisposedException.ThrowIf(transport.IsDisposed, transport);
        IConnectionMultiplexer connection = await transport.GetConnectionAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        RedisKey target = RedisKeys.GroupStream(transport.Options.StreamPrefix, destination, group);
        RedisResult result = await connection.GetDatabase().ScriptEvaluateAsync(ReplayScript, [Key, target], [id]).WaitAsync(cancellationToken).ConfigureAwait(false);
        bool replayed = (long)result == 1;
        if (replayed)
        {
            await connection.GetSubscriber().PublishAsync(RedisKeys.Notify(transport.Options.StreamPrefix, destination), 1, CommandFlags.FireAndForget).ConfigureAwait(false);
        }

        return replayed;
    }

    public async ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default)
    {
        int replayed = 0;
        while (true)
        {
            IReadOnlyList<DeadLetterMessage> batch = await ListAsync(100, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return replayed;
            }

            foreach (DeadLetterMessage entry in batch)
            {
                if (await ReplayAsync(entry.Id, cancellationToken).ConfigureAwait(false))
                {
                    replayed++;
                }
            }
        }
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        IDatabase db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        return await db.StreamDeleteAsync(Key, [id]).WaitAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async ValueTask<DeadLetterPage> BrowseAsync(DeadLetterQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        IDatabase db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisValue min = query.Cursor is { } cursor
            ? (IsEntryId(cursor) ? "(" + cursor : throw new ArgumentException($"The cursor '{cursor}' was not returned by this queue.", nameof(query)))
            : query.From is { } from ? $"{Math.Max(0, from.ToUnixTimeMilliseconds())}-0" : "-";
        RedisValue max = query.To is { } to ? $"{Math.Max(0, to.ToUnixTimeMilliseconds() - 1)}-18446744073709551615" : "+";
        int chunk = Math.Clamp(query.PageSize + 1, 100, 1000);
        List<DeadLetterMessage> page = [];
        string? next = null;
        int scanned = 0;
        while (next is null)
        {
            StreamEntry[] entries = await db.StreamRangeAsync(Key, min, max, chunk).WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (StreamEntry entry in entries)
            {
                scanned++;
                DeadLetterMessage message = ToDeadLetter(entry);
                if (query.Matches(message))
                {
                    if (page.Count == query.PageSize)
                    {
                        next = page[^1].Id; // one more match exists: the next page starts after this page's last
                        break;
                    }

                    page.Add(message);
                }

                if (scanned >= query.ScanLimit)
                {
                    next = entry.Id.ToString(); // looked far enough for one call: the next page goes on from here
                    break;
                }
            }

            if (next is not null || entries.Length < chunk)
            {
                break;
            }

            min = "(" + entries[^1].Id.ToString();
        }

        long total = await db.StreamLengthAsync(Key).WaitAsync(cancellationToken).ConfigureAwait(false);
        return new DeadLetterPage(page, next, total);
    }

    public async ValueTask<DeadLetterMessage?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (!IsEntryId(id))
        {
            return null;
        }

        IDatabase db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        StreamEntry[] entries = await db.StreamRangeAsync(Key, id, id, 1).WaitAsync(cancellationToken).ConfigureAwait(false);
        return entries.Length == 0 ? null : ToDeadLetter(entries[0]);
    }

    /// <summary>Reads the newest dead letter, or <see langword="null"/>.</summary>
    internal async Task<DeadLetterMessage?> NewestAsync(IDatabase db, CancellationToken cancellationToken)
    {
        StreamEntry[] entries = await db.StreamRangeAsync(Key, "-", "+", 1, Order.Descending).WaitAsync(cancellationToken).ConfigureAwait(false);
        return entries.Length == 0 ? null : ToDeadLetter(entries[0]);
    }

    private static bool IsEntryId(string id)
    {
        int dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && dash < id.Length - 1 && id.AsSpan(0, dash).IndexOfAnyExceptInRange('0', '9') < 0 && id.AsSpan(dash + 1).IndexOfAnyExceptInRange('0', '9') < 0;
    }

    private async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
        => (await transport.GetConnectionAsync().WaitAsync(cancellationToken).ConfigureAwait(false)).GetDatabase();

    private DeadLetterMessage ToDeadLetter(StreamEntry entry)
        => DeadLetterHeaders.Read(entry.Id.ToString(), RedisKeys.ToMessage(destination, entry.Values), group);
}
