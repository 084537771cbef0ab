using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Switchboard.Dashboard.Tests;

/// <summary>The dashboard's JSON API in a real app over real Redis and RabbitMQ dead letters: content, security, read-only.</summary>
public sealed class DashboardApiTests : IAsyncLifetime
{
    private DashboardApp _app = null!;

    public async Task InitializeAsync() => _app = await DashboardApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<(string Header, string Token)> SessionAsync(HttpClient client)
    {
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        return (session.GetProperty("antiforgeryHeader").GetString()!, session.GetProperty("antiforgeryToken").GetString()!);
    }

    private static HttpRequestMessage Post(string path, object body, (string Header, string Token)? session)
    {
        HttpRequestMessage request = new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (session is { } s)
        {
            request.Headers.Add(s.Header, s.Token);
        }

        return request;
    }

    [Fact]
    public async Task Overview_ShowsRedisAndRabbitMqSources_WithBacklogConsumersAndDeadLetters_AndNoCredentials()
    {
        await _app.DeadLetterOrdersAsync("o-1", "o-2");
        await _app.DeadLetterInvoicesAsync("i-1");
        using HttpClient client = _app.CreateClient();

        HttpResponseMessage response = await client.GetAsync("api/overview");
        string text = await response.Content.ReadAsStringAsync();
        JsonElement overview = await JsonAsync(response);

        JsonElement[] sources = [.. overview.GetProperty("sources").EnumerateArray()];
        JsonElement orders = sources.Single(s => s.GetProperty("source").GetString() == _app.RedisOrders.Id);
        JsonElement invoices = sources.Single(s => s.GetProperty("source").GetString() == _app.RabbitInvoices.Id);
        Assert.Equal(2, orders.GetProperty("deadLetters").GetInt64());
        Assert.Equal("deadLetters", orders.GetProperty("health").GetString());
        Assert.Equal(0, orders.GetProperty("info").GetProperty("inFlight").GetInt64());
        Assert.True(orders.GetProperty("info").GetProperty("consumers").GetInt32() >= 1);
        Assert.Contains("card expired", orders.GetProperty("info").GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, invoices.GetProperty("deadLetters").GetInt64());
        Assert.Equal(0, invoices.GetProperty("info").GetProperty("backlog").GetInt64());
        Assert.True(invoices.GetProperty("info").GetProperty("consumers").GetInt32() >= 1);
        Assert.DoesNotContain("guest", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("amqp://", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Servers.Redis, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadLetters_AreListedFilteredAndShown_WithHeadersBodyAndException()
    {
        await _app.DeadLetterOrdersAsync("o-10", "o-11", "o-12");
        using HttpClient client = _app.CreateClient();
        string source = Uri.EscapeDataString(_app.RedisOrders.Id);

        JsonElement all = await JsonAsync(await client.GetAsync($"api/dead-letters?source={source}&pageSize=2"));
        JsonElement filtered = await JsonAsync(await client.GetAsync($"api/dead-letters?source={source}&text=declined%20o-11&exceptionType=InvalidOperation"));
        JsonElement none = await JsonAsync(await client.GetAsync($"api/dead-letters?source={source}&messageType=Nope"));

        Assert.Equal(3, all.GetProperty("total").GetInt64());
        Assert.Equal(2, all.GetProperty("items").GetArrayLength());
        string cursor = all.GetProperty("nextCursor").GetString()!;
        JsonElement second = await JsonAsync(await client.GetAsync($"api/dead-letters?source={source}&pageSize=2&cursor={Uri.EscapeDataString(cursor)}"));
        Assert.Equal(1, second.GetProperty("items").GetArrayLength());
        Assert.False(second.TryGetProperty("nextCursor", out _));
        JsonElement only = Assert.Single(filtered.GetProperty("items").EnumerateArray());
        Assert.Empty(none.GetProperty("items").EnumerateArray());
        Assert.False(only.TryGetProperty("body", out _));

        string id = Uri.EscapeDataString(only.GetProperty("id").GetString()!);
        JsonElement message = await JsonAsync(await client.GetAsync($"api/dead-letters/message?source={source}&id={id}"));
        Assert.Equal("json", message.GetProperty("bodyFormat").GetString());
        Assert.Contains("\"Id\": \"o-11\"", message.GetProperty("body").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(typeof(DashOrder).FullName, message.GetProperty("headers").GetProperty("ce-type").GetString());
        Assert.Equal(typeof(InvalidOperationException).FullName, message.GetProperty("exceptionType").GetString());
        Assert.Contains("card expired", message.GetProperty("exceptionDetails").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, message.GetProperty("attempts").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/dead-letters/message?source={source}&id=1-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("api/dead-letters?source=nope")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"api/dead-letters?source={source}&pageSize=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"api/dead-letters?source={source}&from=yesterday")).StatusCode);
    }

    [Fact]
    public async Task Replay_WithoutTheAntiforgeryToken_IsRefused_AndWithIt_TheMessageIsHandledAndTheCountDrops()
    {
        await _app.DeadLetterOrdersAsync("o-20");
        await _app.DeadLetterInvoicesAsync("i-20");
        _app.Failures.Heal("o-20");
        _app.Failures.Heal("i-20");
        using HttpClient client = _app.CreateClient();
        (string Header, string Token) session = await SessionAsync(client);

        HttpResponseMessage forged = await client.SendAsync(Post("api/dead-letters/replay", new { source = _app.RedisOrders.Id, matching = true }, null));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(1, await _app.RedisOrders.DeadLetters.CountAsync());

        using HttpClient stranger = _app.CreateClient();
        HttpResponseMessage otherToken = await stranger.SendAsync(Post("api/dead-letters/replay", new { source = _app.RedisOrders.Id, matching = true }, session));
        Assert.Equal(HttpStatusCode.BadRequest, otherToken.StatusCode); // the token belongs to another browser's cookie

        JsonElement redis = await JsonAsync(await client.SendAsync(Post("api/dead-letters/replay", new { source = _app.RedisOrders.Id, matching = true }, session)));
        JsonElement rabbit = await JsonAsync(await client.SendAsync(Post("api/dead-letters/replay", new { source = _app.RabbitInvoices.Id, matching = true, filter = new { text = "i-20" } }, session)));

        Assert.Equal(1, redis.GetProperty("succeeded").GetInt32());
        Assert.Equal(1, rabbit.GetProperty("succeeded").GetInt32());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("o-20") && _app.Failures.Handled.Contains("i-20")), "both replays handled");
        Assert.Equal(0, await _app.RedisOrders.DeadLetters.CountAsync());
        Assert.Equal(0, await _app.RabbitInvoices.DeadLetters.CountAsync());
    }

    [Fact]
    public async Task Delete_ById_RemovesOnlyThatOne_AndABodyWithoutASelectionIsRefused()
    {
        await _app.DeadLetterInvoicesAsync("i-30", "i-31");
        using HttpClient client = _app.CreateClient();
        (string Header, string Token) session = await SessionAsync(client);
        string id = (await _app.RabbitInvoices.DeadLetters.ListAsync()).Single(m => m.Message.Body.Span.IndexOf("i-30"u8) >= 0).Id;

        HttpResponseMessage nothing = await client.SendAsync(Post("api/dead-letters/delete", new { source = _app.RabbitInvoices.Id }, session));
        JsonElement deleted = await JsonAsync(await client.SendAsync(Post("api/dead-letters/delete", new { source = _app.RabbitInvoices.Id, ids = new[] { id, "gone" } }, session)));

        Assert.Equal(HttpStatusCode.BadRequest, nothing.StatusCode);
        Assert.Equal(2, deleted.GetProperty("selected").GetInt32());
        Assert.Equal(1, deleted.GetProperty("succeeded").GetInt32());
        Assert.Equal(1, deleted.GetProperty("missing").GetInt32());
        DeadLetterMessageBody remaining = new((await _app.RabbitInvoices.DeadLetters.ListAsync()).Single().Message.Body);
        Assert.Contains("i-31", remaining.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("i-31", _app.Failures.Handled);
    }

    [Fact]
    public async Task WithoutAPolicy_OnlyLoopbackCallersAreAnswered_AndThePageSaysSo()
    {
        using HttpClient client = _app.CreateClient();
        using HttpRequestMessage remote = new(HttpMethod.Get, "api/overview");
        remote.Headers.Add("X-Test-Remote", "1");
        using HttpRequestMessage remotePage = new(HttpMethod.Get, "");
        remotePage.Headers.Add("X-Test-Remote", "1");

        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(remote)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(remotePage)).StatusCode);
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        Assert.True(session.GetProperty("loopbackOnly").GetBoolean());
        HttpResponseMessage page = await client.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<base href=\"/switchboard/\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("assets/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("assets/nope.js")).StatusCode);
    }

    [Fact]
    public async Task ReadOnly_RefusesReplayAndDelete_AndTellsThePage()
    {
        await using DashboardApp app = await DashboardApp.StartAsync(o => o.ReadOnly = true);
        await app.DeadLetterOrdersAsync("o-40");
        using HttpClient client = app.CreateClient();
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        (string, string) token = (session.GetProperty("antiforgeryHeader").GetString()!, session.GetProperty("antiforgeryToken").GetString()!);

        HttpResponseMessage replay = await client.SendAsync(Post("api/dead-letters/replay", new { source = app.RedisOrders.Id, matching = true }, token));
        HttpResponseMessage delete = await client.SendAsync(Post("api/dead-letters/delete", new { source = app.RedisOrders.Id, matching = true }, token));

        Assert.True(session.GetProperty("readOnly").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal(1, await app.RedisOrders.DeadLetters.CountAsync());
    }

    [Fact]
    public async Task WithAPolicy_RemoteCallersNeedToPassIt_AndLoopbackIsNoLongerTheRule()
    {
        await using DashboardApp app = await DashboardApp.StartAsync(requirePolicy: true);
        using HttpClient client = app.CreateClient();
        using HttpRequestMessage anonymous = new(HttpMethod.Get, "api/overview");
        anonymous.Headers.Add("X-Test-Remote", "1");
        using HttpRequestMessage signedIn = new(HttpMethod.Get, "api/overview");
        signedIn.Headers.Add("X-Test-Remote", "1");
        signedIn.Headers.Add("X-Test-User", "ops-person");
        using HttpRequestMessage session = new(HttpMethod.Get, "api/session");
        session.Headers.Add("X-Test-User", "ops-person");

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(anonymous)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(signedIn)).StatusCode);
        Assert.False((await JsonAsync(await client.SendAsync(session))).GetProperty("loopbackOnly").GetBoolean());
    }

    private readonly record struct DeadLetterMessageBody(ReadOnlyMemory<byte> Body)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Body.Span);
    }
}
