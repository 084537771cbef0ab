using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Responses;

namespace Switchboard.IntegrationTests.Redis;

/// <summary>The response store over a real Redis: the waiter and the worker on separate connections, as in two processes.</summary>
public sealed class RedisResponseStoreTests : IAsyncLifetime
{
    private readonly string _prefix = RedisServer.NewPrefix();
    private ConnectionMultiplexer _waiterConnection = null!;
    private ConnectionMultiplexer _workerConnection = null!;

    public async Task InitializeAsync()
    {
        _waiterConnection = await ConnectionMultiplexer.ConnectAsync(RedisServer.ConnectionString);
        _workerConnection = await ConnectionMultiplexer.ConnectAsync(RedisServer.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _waiterConnection.DisposeAsync();
        await _workerConnection.DisposeAsync();
        await RedisServer.DeleteKeysAsync(_prefix);
    }

    private static async Task<string> LastCommandAsync(ConnectionMultiplexer admin, long clientId)
    {
        string list = (string)(await admin.GetDatabase().ExecuteAsync("CLIENT", "LIST", "ID", clientId))!;
        string? cmd = list.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("cmd=", StringComparison.Ordinal));
        return cmd?["cmd=".Length..] ?? "";
    }

    private RedisResponseStore Store(ConnectionMultiplexer connection) => new(connection, _prefix + ":response:");

    [Fact]
    public async Task Waiter_IsWokenByTheNotification_WhenTheResponseArrivesLater()
    {
        RedisResponseStore waiter = Store(_waiterConnection);
        RedisResponseStore worker = Store(_workerConnection);

        // The waiter subscribes, then reads the key once: when the server has run that read (the last command of the waiter's
        // connection is a GET), the response can only reach the waiter through the notification.
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(RedisServer.ConnectionString + ",allowAdmin=true");
        long waiterClient = (long)await _waiterConnection.GetDatabase().ExecuteAsync("CLIENT", "ID");
        ValueTask<StoredResponse> waiting = waiter.WaitAsync("c-1", TimeSpan.FromSeconds(10));
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(await LastCommandAsync(admin, waiterClient)).Equals("get", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the waiter did not read the key within 10 s");
            await Task.Delay(10);
        }

        Assert.False(waiting.IsCompleted);
        await worker.StoreAsync("c-1", StoredResponse.Success("42"u8.ToArray(), "application/json"), TimeSpan.FromSeconds(30));

        StoredResponse response = await waiting;
        Assert.True(response.Succeeded);
        Assert.Equal("42", System.Text.Encoding.UTF8.GetString(response.Body.Span));
    }

    [Fact]
    public async Task Waiter_GetsAResponseStoredBeforeItStartedWaiting_AndAFailureKeepsItsDetails()
    {
        RedisResponseStore worker = Store(_workerConnection);
        await worker.StoreAsync("c-2", StoredResponse.Failure("System.InvalidOperationException", "no stock"), TimeSpan.FromSeconds(30));

        StoredResponse response = await Store(_waiterConnection).WaitAsync("c-2", TimeSpan.FromSeconds(5));

        Assert.False(response.Succeeded);
        Assert.Equal("System.InvalidOperationException", response.ErrorType);
        Assert.Equal("no stock", response.ErrorMessage);
    }

    [Fact]
    public async Task Waiter_WithNoResponse_TimesOutWithTimeoutException()
    {
        TimeoutException ex = await Assert.ThrowsAsync<TimeoutException>(async () => await Store(_waiterConnection).WaitAsync("c-3", TimeSpan.FromMilliseconds(200)));
        Assert.Contains("c-3", ex.Message);
    }

    [Fact]
    public async Task StoredResponse_ExpiresAfterItsTimeToLive()
    {
        await Store(_workerConnection).StoreAsync("c-4", StoredResponse.Success("1"u8.ToArray(), "application/json"), TimeSpan.FromSeconds(30));

        TimeSpan? ttl = await _workerConnection.GetDatabase().KeyTimeToLiveAsync(_prefix + ":response:c-4");

        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(30));
    }
}
