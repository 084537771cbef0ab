using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Switchboard.IntegrationTests.Postgres;
using Switchboard.Outbox;
using Switchboard.Outbox.Conformance;
using Switchboard.Postgres;

namespace Switchboard.IntegrationTests.Hosting;

public sealed record PhPing(string Id);

/// <summary>
/// <c>services.AddSwitchboard(...).UsePostgresOutbox(o =&gt; o.Bind(section))</c>: options from configuration, validated when
/// the host starts; the outbox's and its LISTEN connection's health checks.
/// </summary>
public sealed class PostgresHostingTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly string _schema = PostgresServer.NewSchema();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => PostgresServer.DropSchemaAsync(_schema);

    private static IHost Host(Dictionary<string, string?> settings, Action<BusBuilder>? bus = null)
        => HostedBus.Build(settings, (configuration, services) => services
            .AddSwitchboard(b =>
            {
                b.Configure(o => o.Name = "hosted-postgres");
                bus?.Invoke(b);
            })
            .UsePostgresOutbox(o => o.Bind(configuration.GetSection("Outbox")), outbox => outbox.PollInterval = TimeSpan.FromSeconds(30)));

    [Fact]
    public async Task ValidOptions_FromConfiguration_GiveTheBusItsOutbox_WithTheOutboxAndListenerHealthChecks()
    {
        TaskCompletionSource<PhPing> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using IHost host = Host(
            new() { ["Outbox:ConnectionString"] = PostgresServer.ConnectionString, ["Outbox:Schema"] = _schema, ["Outbox:ListenerKeepAlive"] = "00:00:05" },
            b => b.Handle<PhPing>(p => handled.TrySetResult(p)));

        await HostedBus.RunAsync(host, async services =>
        {
            IOutbox outbox = services.GetRequiredService<IOutbox>();
            PostgresOutboxStore store = Assert.IsType<PostgresOutboxStore>(outbox.Store);
            Assert.Equal(_schema, store.Options.Schema);
            Assert.Equal(TimeSpan.FromSeconds(5), store.Options.ListenerKeepAlive);

            // Handled within the 30 s poll interval only if the dispatcher listens: the listener's check then says so.
            await using (NpgsqlConnection connection = await store.DataSource.OpenConnectionAsync())
            await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
            {
                await outbox.PublishAsync(transaction, new PhPing("p-1"));
                await transaction.CommitAsync();
            }

            Assert.Equal("p-1", (await handled.Task.WaitAsync(Patience)).Id);
            HealthReport report = await HostedBus.CheckHealthAsync(services);
            Assert.Equal(["switchboard:outbox:postgres", "switchboard:outbox:postgres:listener"], report.Entries.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(HealthStatus.Healthy, report.Status);
            HealthReportEntry listener = report.Entries["switchboard:outbox:postgres:listener"];
            Assert.Equal(["switchboard", "outbox", "postgres", "listener", "ready"], listener.Tags);
            Assert.Equal(1, listener.Data["listeners"]);
            Assert.Equal(["switchboard", "outbox", "postgres", "ready"], report.Entries["switchboard:outbox:postgres"].Tags);
        });
    }

    [Fact]
    public async Task ListenerHealth_IsDegradedWhileItsConnectionCannotBeReopened_AndHealthyOnceItIs()
    {
        string role = _schema + "_listener";
        await PostgresServer.ExecuteAsync($"CREATE ROLE \"{role}\" LOGIN PASSWORD 'listener-pw'");
        try
        {
            NpgsqlConnectionStringBuilder connection = new(PostgresServer.ConnectionString) { Username = role, Password = "listener-pw", Pooling = false };
            await using PostgresOutboxStore store = new(new PostgresOutboxStoreOptions { ConnectionString = connection.ToString(), Schema = _schema });
            IHealthCheck check = Assert.Single(store.GetHealthChecks()).Check;
            Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

            await using (await store.ListenAsync(() => { }))
            {
                HealthCheckResult listening = await check.CheckHealthAsync(new HealthCheckContext());
                Assert.Equal(HealthStatus.Healthy, listening.Status);
                Assert.Equal(1, listening.Data["listeners"]);

                // The connection drops and the role may no longer log in: the listener cannot reopen it.
                await PostgresServer.ExecuteAsync($"ALTER ROLE \"{role}\" NOLOGIN");
                await PostgresServer.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
                await Waiting.UntilAsync(
                    async () => (await check.CheckHealthAsync(new HealthCheckContext())).Status == HealthStatus.Degraded,
                    Patience,
                    () => "the listener's health did not turn Degraded while its connection was lost");

                await PostgresServer.ExecuteAsync($"ALTER ROLE \"{role}\" LOGIN");
                await Waiting.UntilAsync(
                    async () => (await check.CheckHealthAsync(new HealthCheckContext())).Status == HealthStatus.Healthy,
                    Patience,
                    () => "the listener's health did not recover after its connection could be reopened");
            }

            Assert.Equal(0, (await check.CheckHealthAsync(new HealthCheckContext())).Data["listeners"]);
        }
        finally
        {
            await PostgresServer.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
            await PostgresServer.ExecuteAsync($"DROP ROLE IF EXISTS \"{role}\"");
        }
    }

    [Fact]
    public async Task InvalidOptions_StopTheHostAtStart_NamingTheOption_WithoutQuotingTheConnectionString()
    {
        using IHost host = Host(new()
        {
            ["Outbox:ConnectionString"] = "Host=127.0.0.1;Port=5433;Username=switchboard;Password=s3cret-value",
            ["Outbox:Schema"] = "Not-A-Schema",
        });

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("PostgresOutboxStoreOptions.Schema", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());
    }

    [Fact]
    public async Task MissingOptions_StopTheHostAtStart()
    {
        using IHost host = Host([]);

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("exactly one of ConnectionString and DataSource", ex.Message);
    }
}
