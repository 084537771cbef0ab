using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// Bulk replay and delete as jobs through the JSON API (what the page polls), on real Redis dead letters held message by
/// message by a <see cref="Gate"/>: progress after each message, one job per source, cancel stops after the current
/// message and leaves the rest dead, anti-forgery on start and cancel.
/// </summary>
public sealed class BulkJobApiTests : IAsyncLifetime
{
    private readonly Gate _gate = new();
    private DashboardApp _app = null!;

    public async Task InitializeAsync()
        => _app = await DashboardApp.StartAsync(o =>
        {
            Func<IServiceProvider, Operations.SwitchboardOperations> inner = o.Operations!;
            o.Operations = services => _gate.Wrap(inner(services));
        });

    public async Task DisposeAsync()
    {
        // Lets a job still waiting finish, so the app stops without one in the middle.
        _gate.Release(100);
        await _app.DisposeAsync();
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> WaitForJobAsync(HttpClient client, string id, Func<JsonElement, bool> condition, string what)
    {
        JsonElement job = default;
        await DashboardApp.WaitForAsync(async () => condition(job = await JsonAsync(await client.GetAsync($"api/jobs/{id}"))), what);
        return job;
    }

    [Fact]
    public async Task ReplayJob_ReportsEachMessage_RefusesASecondJob_AndCancelStopsAfterTheCurrentOne()
    {
        await _app.DeadLetterOrdersAsync("job-1", "job-2", "job-3");
        foreach (string order in new[] { "job-1", "job-2", "job-3" })
        {
            _app.Failures.Heal(order);
        }

        using HttpClient client = _app.CreateClient();
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        string header = session.GetProperty("antiforgeryHeader").GetString()!;
        string token = session.GetProperty("antiforgeryToken").GetString()!;
        HttpRequestMessage Post(string path, object body, bool withToken = true)
        {
            HttpRequestMessage request = new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            if (withToken)
            {
                request.Headers.Add(header, token);
            }

            return request;
        }

        object all = new { action = "replay", source = _app.RedisOrders.Id, matching = true };
        HttpResponseMessage forged = await client.SendAsync(Post("api/jobs", all, withToken: false));
        HttpResponseMessage badAction = await client.SendAsync(Post("api/jobs", new { action = "purge", source = _app.RedisOrders.Id, matching = true }));
        HttpResponseMessage started = await client.SendAsync(Post("api/jobs", all));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badAction.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        string id = (await JsonAsync(started)).GetProperty("id").GetString()!;

        JsonElement waiting = await WaitForJobAsync(client, id, j => j.GetProperty("state").GetString() == "running" && j.GetProperty("total").GetInt32() == 3, "the job running over 3 dead letters");
        HttpResponseMessage second = await client.SendAsync(Post("api/jobs", new { action = "delete", source = _app.RedisOrders.Id, matching = true }));
        Assert.Equal(0, waiting.GetProperty("done").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);

        _gate.Release(1);
        JsonElement one = await WaitForJobAsync(client, id, j => j.GetProperty("done").GetInt32() == 1, "one message replayed");
        Assert.Equal(1, one.GetProperty("succeeded").GetInt32());
        Assert.Equal("running", one.GetProperty("state").GetString());

        HttpResponseMessage forgedCancel = await client.SendAsync(Post($"api/jobs/{id}/cancel", new { }, withToken: false));
        Assert.Equal(HttpStatusCode.BadRequest, forgedCancel.StatusCode);
        JsonElement cancelling = await JsonAsync(await client.SendAsync(Post($"api/jobs/{id}/cancel", new { })));
        Assert.True(cancelling.GetProperty("cancelRequested").GetBoolean());
        JsonElement cancelled = await WaitForJobAsync(client, id, j => j.GetProperty("state").GetString() == "cancelled", "the job cancelled");

        Assert.Equal(1, cancelled.GetProperty("succeeded").GetInt32());
        Assert.Equal(3, cancelled.GetProperty("total").GetInt32());
        Assert.True(cancelled.TryGetProperty("finishedAt", out _));
        Assert.Equal(2, await _app.RedisOrders.DeadLetters.CountAsync());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Count == 1), "the one replayed message handled");

        // The two still dead, deleted by id as a second job; the replayed one is not among them.
        string[] remaining = [.. (await _app.RedisOrders.DeadLetters.ListAsync()).Select(m => m.Id)];
        _gate.Release(2);
        JsonElement delete = await JsonAsync(await client.SendAsync(Post("api/jobs", new { action = "delete", source = _app.RedisOrders.Id, ids = remaining })));
        JsonElement deleted = await WaitForJobAsync(client, delete.GetProperty("id").GetString()!, j => j.GetProperty("state").GetString() == "completed", "the delete job completed");
        JsonElement[] listed = [.. (await JsonAsync(await client.GetAsync($"api/jobs?source={Uri.EscapeDataString(_app.RedisOrders.Id)}"))).EnumerateArray()];

        Assert.Equal(2, deleted.GetProperty("succeeded").GetInt32());
        Assert.Equal(0, await _app.RedisOrders.DeadLetters.CountAsync());
        Assert.Single(_app.Failures.Handled);
        Assert.Equal([delete.GetProperty("id").GetString(), id], listed.Select(j => j.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Cli_ThroughTheUrl_ReplaysAsAJob_AndCtrlCStopsItAfterTheCurrentMessage()
    {
        await _app.DeadLetterOrdersAsync("cli-job-1", "cli-job-2", "cli-job-3");
        foreach (string order in new[] { "cli-job-1", "cli-job-2", "cli-job-3" })
        {
            _app.Failures.Heal(order);
        }

        using CancellationTokenSource ctrlC = new();
        Task<CliTests.Run> running = CliTests.CliAsync(ctrlC.Token, "dlq", "replay", "--url", _app.DashboardUrl, "--source", _app.RedisOrders.Id, "--all", "--yes", "--json");
        _gate.Release(1);
        await DashboardApp.WaitForAsync(async () => await _app.RedisOrders.DeadLetters.CountAsync() == 2, "one of three replayed");
        ctrlC.Cancel();
        CliTests.Run run = await running;

        Assert.Equal(4, run.ExitCode);
        Assert.True(run.Json.GetProperty("cancelled").GetBoolean());
        Assert.Equal(1, run.Json.GetProperty("succeeded").GetInt32());
        Assert.Equal(3, run.Json.GetProperty("selected").GetInt32());
        Assert.Equal(2, await _app.RedisOrders.DeadLetters.CountAsync());
    }

    [Fact]
    public async Task Jobs_AreRefused_WhenTheDashboardIsReadOnly()
    {
        await using DashboardApp readOnly = await DashboardApp.StartAsync(o => o.ReadOnly = true);
        using HttpClient client = readOnly.CreateClient();
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        HttpRequestMessage request = new(HttpMethod.Post, "api/jobs") { Content = JsonContent.Create(new { action = "replay", source = readOnly.RedisOrders.Id, matching = true }) };
        request.Headers.Add(session.GetProperty("antiforgeryHeader").GetString()!, session.GetProperty("antiforgeryToken").GetString());

        HttpResponseMessage response = await client.SendAsync(request);
        HttpResponseMessage missing = await client.GetAsync("api/jobs/nope");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
