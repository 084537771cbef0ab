using StackExchange.Redis;

namespace Switchboard.IntegrationTests.Redis;

/// <summary>The Redis that scripts/servers.sh started. Without it the tests fail with this message; they never skip.</summary>
public static class RedisServer
{
    public static string ConnectionString
        => Environment.GetEnvironmentVariable("SWITCHBOARD_REDIS") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "SWITCHBOARD_REDIS is not set, so there is no Redis to test against. Run scripts/test.sh (it starts Redis on 127.0.0.1:6399 " +
                "through scripts/servers.sh and sets it), or start one and set SWITCHBOARD_REDIS=host:port.");

    public static string NewPrefix() => "sbtest-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Deletes every key a test created under its prefix.</summary>
    public static async Task DeleteKeysAsync(string prefix)
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
        IDatabase db = connection.GetDatabase();
        foreach (IServer server in connection.GetServers())
        {
            await foreach (RedisKey key in server.KeysAsync(pattern: prefix + ":*"))
            {
                await db.KeyDeleteAsync(key);
            }
        }
    }
}
