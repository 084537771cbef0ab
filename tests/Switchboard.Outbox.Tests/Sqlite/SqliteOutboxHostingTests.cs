using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Sqlite;

namespace Switchboard.Outbox.Tests.Sqlite;

public sealed record HostedOutboxEvent(string Id);

/// <summary>
/// <c>services.AddSwitchboard(...).UseSqliteOutbox(o =&gt; o.Bind(section))</c>: the store's options come from configuration and
/// are validated when the host starts; <c>AddHealthChecks().AddSwitchboard()</c> registers the outbox's check.
/// </summary>
public sealed class SqliteOutboxHostingTests : IDisposable
{
    private readonly TemporaryDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static IHost Host(Dictionary<string, string?> settings, Action<HostedOutboxEvent>? handle = null)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        IConfigurationSection section = builder.Configuration.GetSection("Outbox");
        builder.Services
            .AddSwitchboard(b => b.Configure(o => o.Name = "hosted-sqlite").Handle<HostedOutboxEvent>(e => handle?.Invoke(e)))
            .UseSqliteOutbox(o => o.Bind(section), outbox => section.GetSection("Dispatcher").Bind(outbox));
        builder.Services.AddHealthChecks().AddSwitchboard(tags: ["ready"]);
        return builder.Build();
    }

    [Fact]
    public async Task OptionsFromConfiguration_AreBound_AndTheOutboxDispatchesACommittedMessage()
    {
        TaskCompletionSource<HostedOutboxEvent> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using IHost host = Host(
            new()
            {
                ["Outbox:ConnectionString"] = _database.ConnectionString,
                ["Outbox:TablePrefix"] = "cfg_",
                ["Outbox:BusyTimeout"] = "00:00:07",
            },
            e => handled.TrySetResult(e));
        await host.StartAsync();
        try
        {
            IMessageBus bus = host.Services.GetRequiredService<IMessageBus>();
            SqliteOutboxStore store = Assert.IsType<SqliteOutboxStore>(bus.GetOutbox().Store);
            Assert.Equal("cfg_", store.Options.TablePrefix);
            Assert.Equal(TimeSpan.FromSeconds(7), store.Options.BusyTimeout);

            await using (SqliteConnection connection = new(_database.ConnectionString))
            {
                await connection.OpenAsync();
                await using SqliteTransaction transaction = connection.BeginTransaction();
                await bus.GetOutbox().PublishAsync(transaction, new HostedOutboxEvent("h-1"));
                await transaction.CommitAsync();
            }

            Assert.Equal("h-1", (await handled.Task.WaitAsync(TimeSpan.FromSeconds(10))).Id);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddSwitchboardHealthChecks_RegistersTheOutboxCheck_WithItsNameAndTags()
    {
        using IHost host = Host(new() { ["Outbox:ConnectionString"] = _database.ConnectionString });
        await host.StartAsync();
        try
        {
            HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

            // The in-memory transport has nothing to check: the outbox is the bus's only check.
            KeyValuePair<string, HealthReportEntry> entry = Assert.Single(report.Entries);
            Assert.Equal("switchboard:outbox:sqlite", entry.Key);
            Assert.Equal(HealthStatus.Healthy, entry.Value.Status);
            Assert.Equal(["switchboard", "outbox", "sqlite", "ready"], entry.Value.Tags);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task InvalidOptions_StopTheHostAtStart_NamingTheOption_WithoutQuotingTheConnectionString()
    {
        using IHost host = Host(new()
        {
            ["Outbox:ConnectionString"] = $"Data Source={_database.Path};Password=s3cret-value",
            ["Outbox:TablePrefix"] = "9-bad",
        });

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("SqliteOutboxStoreOptions.TablePrefix", ex.Message);
        Assert.DoesNotContain("s3cret-value", ex.ToString());
        Assert.False(File.Exists(_database.Path), "the store was created although its options are invalid");
    }

    [Fact]
    public async Task MissingOptions_StopTheHostAtStart()
    {
        using IHost host = Host([]);

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("SqliteOutboxStoreOptions.ConnectionString is required", ex.Message);
    }
}
