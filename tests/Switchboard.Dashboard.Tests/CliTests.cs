using System.Text.Json;
using Npgsql;
using Spectre.Console;
using Switchboard.Cli;
using Switchboard.Outbox;
using Switchboard.Postgres;

namespace Switchboard.Dashboard.Tests;

public sealed record CliPayment(string Id);

/// <summary>The switchboard CLI end to end: against a running app's dashboard, and straight against Redis, RabbitMQ, PostgreSQL and SQLite.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private DashboardApp _app = null!;

    public async Task InitializeAsync() => _app = await DashboardApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    internal sealed record Run(int ExitCode, string Output, string Error)
    {
        public JsonElement Json => JsonDocument.Parse(Output).RootElement.Clone();
    }

    /// <summary>Runs the CLI in this process, with the servers' connections in its environment only (never on its command line).</summary>
    internal static async Task<Run> CliAsync(params string[] args)
    {
        StringWriter output = new();
        StringWriter error = new();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 240;
        int code = await CliApp.RunAsync(args, console, output, error, Environment.GetEnvironmentVariable, CancellationToken.None);
        return new Run(code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Redis_StatusListShowReplay_StraightFromTheBroker()
    {
        await _app.DeadLetterOrdersAsync("cli-1", "cli-2");
        string source = _app.RedisOrders.Id;
        string[] target = ["--redis", "--prefix", _app.RedisPrefix];

        Run status = await CliAsync(["status", .. target, "--json"]);
        Run table = await CliAsync(["status", .. target]);
        Run list = await CliAsync(["dlq", "list", .. target, "--json"]);
        Assert.Equal(0, status.ExitCode);
        JsonElement orders = status.Json.EnumerateArray().Single(s => s.GetProperty("source").GetString() == source);
        Assert.Equal(2, orders.GetProperty("deadLetters").GetInt64());
        Assert.Contains(source, table.Output, StringComparison.Ordinal);
        Assert.Contains("card expired", table.Output, StringComparison.Ordinal);
        JsonElement page = Assert.Single(list.Json.EnumerateArray());
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        // The two were handled concurrently, so the list's order says nothing about which failed first: show both.
        List<string> bodies = [];
        foreach (JsonElement item in page.GetProperty("items").EnumerateArray())
        {
            Run shown = await CliAsync(["dlq", "show", .. target, "--source", source, "--id", item.GetProperty("id").GetString()!, "--json"]);
            Assert.Equal(0, shown.ExitCode);
            bodies.Add(shown.Json.GetProperty("body").GetString()!);
        }

        string id = page.GetProperty("items")[0].GetProperty("id").GetString()!;
        Run showTable = await CliAsync(["dlq", "show", .. target, "--source", source, "--id", id]);
        Assert.Single(bodies, b => b.Contains("\"cli-1\"", StringComparison.Ordinal));
        Assert.Single(bodies, b => b.Contains("\"cli-2\"", StringComparison.Ordinal));
        Assert.Contains("ce-type", showTable.Output, StringComparison.Ordinal);

        Run unconfirmed = await CliAsync(["dlq", "replay", .. target, "--source", source, "--all"]);
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("--yes", unconfirmed.Error, StringComparison.Ordinal);

        _app.Failures.Heal("cli-1");
        _app.Failures.Heal("cli-2");
        Run replay = await CliAsync(["dlq", "replay", .. target, "--source", source, "--all", "--yes", "--json"]);
        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(2, replay.Json.GetProperty("succeeded").GetInt32());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("cli-1") && _app.Failures.Handled.Contains("cli-2")), "both replays handled");
        Assert.Equal(0, await _app.RedisOrders.DeadLetters.CountAsync());
        Assert.DoesNotContain(Servers.Redis, status.Output + table.Output + list.Output + replay.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RabbitMq_DeleteById_ThenTheSameIdAgain_ExitsIncomplete()
    {
        await _app.DeadLetterInvoicesAsync("cli-i-1", "cli-i-2");
        string source = _app.RabbitInvoices.Id;
        string[] target = ["--rabbitmq", "--destination", "invoices", "--group", _app.RabbitGroup];
        Run list = await CliAsync(["dlq", "list", .. target, "--source", source, "--text", "cli-i-1", "--json"]);
        string id = Assert.Single(Assert.Single(list.Json.EnumerateArray()).GetProperty("items").EnumerateArray()).GetProperty("id").GetString()!;

        Run delete = await CliAsync(["dlq", "delete", .. target, "--source", source, "--id", id, "--yes"]);
        Run again = await CliAsync(["dlq", "delete", .. target, "--source", source, "--id", id, "--yes", "--json"]);

        Assert.Equal(0, delete.ExitCode);
        Assert.Contains("Deleted 1 of 1", delete.Output, StringComparison.Ordinal);
        Assert.Equal(4, again.ExitCode);
        Assert.Equal(1, again.Json.GetProperty("missing").GetInt32());
        Assert.Equal(1, await _app.RabbitInvoices.DeadLetters.CountAsync());
        Assert.Empty(_app.Failures.Handled);
        Assert.DoesNotContain("guest", delete.Output + delete.Error + list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Url_ThroughTheDashboardApi_StatusAndReplayById()
    {
        await _app.DeadLetterInvoicesAsync("cli-u-1");
        string id = Assert.Single(await _app.RabbitInvoices.DeadLetters.ListAsync()).Id;
        _app.Failures.Heal("cli-u-1");

        Run status = await CliAsync("status", "--url", _app.DashboardUrl, "--json");
        Run replay = await CliAsync("dlq", "replay", "--url", _app.DashboardUrl, "--source", _app.RabbitInvoices.Id, "--id", id);
        Run missing = await CliAsync("dlq", "show", "--url", _app.DashboardUrl, "--source", _app.RabbitInvoices.Id, "--id", id);
        Run noSource = await CliAsync("dlq", "list", "--url", _app.DashboardUrl, "--source", "nope/nope/nope");

        Assert.Equal(0, status.ExitCode);
        Assert.Contains(status.Json.EnumerateArray(), s => s.GetProperty("source").GetString() == _app.RabbitInvoices.Id && s.GetProperty("deadLetters").GetInt64() == 1);
        Assert.Equal(0, replay.ExitCode);
        Assert.Contains("Replayed 1 of 1", replay.Output, StringComparison.Ordinal);
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("cli-u-1")), "cli-u-1 handled after the replay");
        Assert.Equal(3, missing.ExitCode);
        Assert.Equal(3, noSource.ExitCode);
    }

    [Fact]
    public async Task PostgresOutbox_DeadRowsListedAndReplayed_ThenHandledByTheAppsDispatcher()
    {
        string schema = "sbcli_" + Guid.NewGuid().ToString("N")[..12];
        string connection = Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES") ?? throw new InvalidOperationException("SWITCHBOARD_POSTGRES is not set: run scripts/test.sh.");
        DashboardApp.FailureSwitch failures = new();
        failures.Fail("pay-1");
        try
        {
            await using IMessageBus bus = MessageBus.Create(b => b
                .Configure(o => o.Name = "cli-pg")
                .UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = connection, Schema = schema }, o =>
                {
                    o.Retry.MaxAttempts = 1;
                    o.PollInterval = TimeSpan.FromMilliseconds(100);
                })
                .Handle<CliPayment>(p => failures.Handle(p.Id)));
            IOutbox outbox = bus.GetOutbox();
            await using (NpgsqlConnection db = new(connection))
            {
                await db.OpenAsync();
                await using NpgsqlTransaction tx = await db.BeginTransactionAsync();
                await outbox.PublishAsync(tx, new CliPayment("pay-1"));
                await tx.CommitAsync();
            }

            await DashboardApp.WaitForAsync(async () => await outbox.DeadLetters.CountAsync() == 1, "the outbox row parked dead");
            string[] target = ["--postgres", "--schema", schema, "--group", "cli-pg"];

            Run status = await CliAsync(["status", .. target, "--json"]);
            Run list = await CliAsync(["dlq", "list", .. target, "--source", "outbox/postgres/cli-pg", "--json"]);
            failures.Heal("pay-1");
            Run replay = await CliAsync(["dlq", "replay", .. target, "--source", "outbox/postgres/cli-pg", "--all", "--yes", "--json"]);

            Assert.Equal(0, status.ExitCode);
            Assert.Equal(1, Assert.Single(status.Json.EnumerateArray()).GetProperty("deadLetters").GetInt64());
            Assert.Contains("pay-1", Assert.Single(list.Json.EnumerateArray()).GetProperty("items")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, replay.ExitCode);
            Assert.Equal(1, replay.Json.GetProperty("succeeded").GetInt32());
            await DashboardApp.WaitForAsync(() => Task.FromResult(failures.Handled.Contains("pay-1")), "pay-1 handled after the replay");
            Assert.DoesNotContain("Password", status.Output + list.Output + replay.Output + replay.Error, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            await using NpgsqlDataSource data = NpgsqlDataSource.Create(connection);
            await using NpgsqlCommand drop = data.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task SqliteOutbox_FromASettingsFile_DeleteAllMatching()
    {
        string directory = Directory.CreateTempSubdirectory("sbcli-").FullName;
        string file = Path.Combine(directory, "app.db");
        string settings = Path.Combine(directory, "switchboard.json");
        DashboardApp.FailureSwitch failures = new();
        failures.Fail("pay-9");
        try
        {
            await using (IMessageBus bus = MessageBus.Create(b => b
                .Configure(o => o.Name = "cli-sqlite")
                .UseSqliteOutbox($"Data Source={file}", o =>
                {
                    o.Retry.MaxAttempts = 1;
                    o.PollInterval = TimeSpan.FromMilliseconds(100);
                })
                .Handle<CliPayment>(p => failures.Handle(p.Id))))
            {
                IOutbox outbox = bus.GetOutbox();
                await using (System.Data.Common.DbConnection db = await outbox.Store.OpenConnectionAsync())
                {
                    await using System.Data.Common.DbTransaction tx = await db.BeginTransactionAsync();
                    await outbox.PublishAsync(tx, new CliPayment("pay-9"));
                    await tx.CommitAsync();
                }

                await DashboardApp.WaitForAsync(async () => await outbox.DeadLetters.CountAsync() == 1, "the outbox row parked dead");
            }

            await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new Dictionary<string, string> { ["sqlite"] = file, ["group"] = "cli-sqlite" }));
            Run status = await CliAsync("status", "--sqlite", "--settings", settings, "--json");
            Run delete = await CliAsync("dlq", "delete", "--sqlite", "--settings", settings, "--source", "outbox/sqlite/cli-sqlite", "--all", "--text", "pay-9", "--yes", "--json");
            Run after = await CliAsync("status", "--sqlite", "--settings", settings, "--json");

            Assert.Equal(1, Assert.Single(status.Json.EnumerateArray()).GetProperty("deadLetters").GetInt64());
            Assert.Equal(0, delete.ExitCode);
            Assert.Equal(1, delete.Json.GetProperty("succeeded").GetInt32());
            Assert.Equal(0, Assert.Single(after.Json.EnumerateArray()).GetProperty("deadLetters").GetInt64());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task BadInput_GetsDocumentedExitCodes_AndNoConnectionIsEverEchoed()
    {
        Run none = await CliAsync("status");
        Run unknown = await CliAsync("dlq", "purge", "--redis");
        Run both = await CliAsync("status", "--url", "http://127.0.0.1:1/switchboard", "--redis");
        Run rabbitWithoutGroup = await CliAsync("status", "--rabbitmq", "amqp://admin:s3cret-pw@127.0.0.1:5679/", "--destination", "x");
        Run wrongPassword = await CliAsync("status", "--rabbitmq", "amqp://admin:s3cret-pw@127.0.0.1:5679/", "--destination", "x", "--group", "y");
        Run noSuchSource = await CliAsync("dlq", "show", "--redis", "--prefix", _app.RedisPrefix, "--source", "redis/none/none", "--id", "1-1");
        Run help = await CliAsync("--help");

        Assert.Equal(2, none.ExitCode);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal(2, both.ExitCode);
        Assert.Equal(2, rabbitWithoutGroup.ExitCode);
        Assert.Equal(1, wrongPassword.ExitCode);
        Assert.Equal(3, noSuchSource.ExitCode);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Exit codes", help.Output, StringComparison.Ordinal);
        foreach (Run run in new[] { rabbitWithoutGroup, wrongPassword })
        {
            Assert.DoesNotContain("s3cret-pw", run.Output + run.Error, StringComparison.Ordinal);
        }
    }
}
