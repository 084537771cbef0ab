using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// Amazon SQS on the operations API, the page's JSON API and the switchboard CLI, against the SQS emulator: the numbers
/// SQS approximates, the dead letters listed, shown, replayed and deleted, and no credential anywhere in the output.
/// </summary>
public sealed class SqsOperationsTests : IAsyncLifetime
{
    private SqsDashboardApp _app = null!;

    public async Task InitializeAsync() => _app = await SqsDashboardApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Api_OverviewListShowReplay_OfSqsDeadLetters()
    {
        await _app.DeadLetterParcelsAsync("p-1", "p-2");
        using HttpClient client = _app.CreateClient();
        string source = Uri.EscapeDataString(_app.Parcels.Id);

        HttpResponseMessage overviewResponse = await client.GetAsync("api/overview");
        string overviewText = await overviewResponse.Content.ReadAsStringAsync();
        JsonElement parcels = (await JsonAsync(overviewResponse)).GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("source").GetString() == _app.Parcels.Id);
        JsonElement list = await JsonAsync(await client.GetAsync($"api/dead-letters?source={source}"));

        Assert.Equal("sqs", parcels.GetProperty("transport").GetString());
        Assert.Equal(2, parcels.GetProperty("deadLetters").GetInt64());
        JsonElement info = parcels.GetProperty("info");
        Assert.Equal(0, info.GetProperty("backlog").GetInt64());
        Assert.Equal(0, info.GetProperty("delayed").GetInt64());
        Assert.True(info.GetProperty("inFlight").GetInt64() >= 0);
        Assert.False(info.TryGetProperty("consumers", out _), "SQS does not know its consumers: the number is left out, never 0");
        Assert.Contains("card expired", info.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, list.GetProperty("items").GetArrayLength());
        string id = list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("reason").GetString()!.Contains("p-2", StringComparison.Ordinal)).GetProperty("id").GetString()!;

        JsonElement shown = await JsonAsync(await client.GetAsync($"api/dead-letters/message?source={source}&id={Uri.EscapeDataString(id)}"));
        Assert.Contains("\"p-2\"", shown.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, shown.GetProperty("attempts").GetInt32());

        _app.Failures.Heal("p-2");
        JsonElement session = await JsonAsync(await client.GetAsync("api/session"));
        HttpRequestMessage replay = new(HttpMethod.Post, "api/dead-letters/replay") { Content = JsonContent.Create(new { source = _app.Parcels.Id, ids = new[] { id } }) };
        replay.Headers.Add(session.GetProperty("antiforgeryHeader").GetString()!, session.GetProperty("antiforgeryToken").GetString());
        JsonElement result = await JsonAsync(await client.SendAsync(replay));

        Assert.Equal(1, result.GetProperty("succeeded").GetInt32());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("p-2")), "p-2 handled after the replay");
        Assert.Equal(1, await _app.Parcels.DeadLetters.CountAsync());
        Assert.DoesNotContain("p-1", _app.Failures.Handled);
        Assert.DoesNotContain(Servers.SqsAccessKey, overviewText, StringComparison.Ordinal);
        Assert.DoesNotContain(Servers.SqsSecretKey, overviewText, StringComparison.Ordinal);
        HttpResponseMessage gone = await client.GetAsync($"api/dead-letters/message?source={source}&id={Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Cli_StatusListShowReplayDelete_StraightFromSqs_CredentialsFromTheSdkChainOnly()
    {
        await _app.DeadLetterParcelsAsync("c-1", "c-2");
        string source = _app.Parcels.Id;
        // The CLI takes no keys: the AWS SDK reads them from its own chain, here the environment.
        string? keyBefore = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        string? secretBefore = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", Servers.SqsAccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", Servers.SqsSecretKey);
        try
        {
            // The service URL comes from SWITCHBOARD_SQS, as scripts/test.sh sets it.
            string[] target = ["--sqs", "--queue-prefix", _app.QueuePrefix];
            CliTests.Run status = await CliTests.CliAsync(["status", .. target, "--json"]);
            CliTests.Run table = await CliTests.CliAsync(["status", .. target]);
            CliTests.Run list = await CliTests.CliAsync(["dlq", "list", .. target, "--source", source, "--json"]);

            Assert.Equal(0, status.ExitCode);
            JsonElement parcels = status.Json.EnumerateArray().Single(s => s.GetProperty("source").GetString() == source);
            Assert.Equal(2, parcels.GetProperty("deadLetters").GetInt64());
            Assert.Equal(0, parcels.GetProperty("info").GetProperty("delayed").GetInt64());
            Assert.Contains(source, table.Output, StringComparison.Ordinal);
            Assert.Contains("delayed", table.Output, StringComparison.Ordinal);
            JsonElement[] items = [.. Assert.Single(list.Json.EnumerateArray()).GetProperty("items").EnumerateArray()];
            Assert.Equal(2, items.Length);
            string replayId = items.Single(i => i.GetProperty("reason").GetString()!.Contains("c-1", StringComparison.Ordinal)).GetProperty("id").GetString()!;
            string deleteId = items.Single(i => i.GetProperty("reason").GetString()!.Contains("c-2", StringComparison.Ordinal)).GetProperty("id").GetString()!;

            CliTests.Run show = await CliTests.CliAsync(["dlq", "show", .. target, "--source", source, "--id", replayId, "--json"]);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("\"c-1\"", show.Json.GetProperty("body").GetString(), StringComparison.Ordinal);

            _app.Failures.Heal("c-1");
            CliTests.Run replay = await CliTests.CliAsync(["dlq", "replay", .. target, "--source", source, "--id", replayId, "--json"]);
            CliTests.Run unconfirmed = await CliTests.CliAsync(["dlq", "delete", .. target, "--source", source, "--id", deleteId]);
            CliTests.Run delete = await CliTests.CliAsync(["dlq", "delete", .. target, "--source", source, "--id", deleteId, "--yes"]);
            CliTests.Run again = await CliTests.CliAsync(["dlq", "delete", .. target, "--source", source, "--id", deleteId, "--yes", "--json"]);
            CliTests.Run missing = await CliTests.CliAsync(["dlq", "show", .. target, "--source", source, "--id", deleteId]);

            Assert.Equal(0, replay.ExitCode);
            Assert.Equal(1, replay.Json.GetProperty("succeeded").GetInt32());
            Assert.Equal(2, unconfirmed.ExitCode);
            Assert.Equal(0, delete.ExitCode);
            Assert.Contains("Deleted 1 of 1", delete.Output, StringComparison.Ordinal);
            Assert.Equal(4, again.ExitCode);
            Assert.Equal(1, again.Json.GetProperty("missing").GetInt32());
            Assert.Equal(3, missing.ExitCode);
            await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("c-1")), "c-1 handled after the CLI's replay");
            Assert.Equal(0, await _app.Parcels.DeadLetters.CountAsync());
            Assert.DoesNotContain("c-2", _app.Failures.Handled);
            string everything = string.Concat(status.Output, status.Error, table.Output, list.Output, show.Output, replay.Output, delete.Output, again.Output, missing.Error);
            Assert.DoesNotContain(Servers.SqsAccessKey, everything, StringComparison.Ordinal);
            Assert.DoesNotContain(Servers.SqsSecretKey, everything, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", keyBefore);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", secretBefore);
        }
    }

    [Fact]
    public async Task Cli_SqsWithoutAServiceUrlOrRegion_IsAUsageError()
    {
        CliTests.Run run = await CliTests.CliAsync("status", "--sqs", "not a url", "--queue-prefix", _app.QueuePrefix);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--sqs", run.Error, StringComparison.Ordinal);
    }
}
