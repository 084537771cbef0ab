using StackExchange.Redis;
using Switchboard.Transport;

namespace Switchboard.Redis;

/// <summary>The dead-letter stream of one consumer group: <c>{prefix}:{destination}:{group}:dlq</c>.</summary>
internal sealed class RedisDeadLetterQueue(RedisTransport transport, string destination, string group) : IDeadLetterQueue
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

    private async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
        => (await transport.GetConnectionAsync().WaitAsync(cancellationToken).ConfigureAwait(false)).GetDatabase();

    private DeadLetterMessage ToDeadLetter(StreamEntry entry)
        => DeadLetterHeaders.Read(entry.Id.ToString(), RedisKeys.ToMessage(destination, entry.Values), group);
}
