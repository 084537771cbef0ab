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
        // Npgsql's own timeouts are what end a wait on a stalled network. A command that times out (CommandTimeout) is first
        // cancelled: Npgsql opens a second connection for the cancel request, synchronously, which stalls too and is bounded
        // by Timeout (its SSL negotiation, then its wait for the server to close it); only then is the connection broken. So
        // a sender whose pooled connection was healthy when the network stalled hears its error after CommandTimeout plus up
        // to twice Timeout (measured: 6.0 s with 2 s and 2 s), not after CommandTimeout; CancellationTimeout = -1 only skips
        // the wait for the server's answer to the cancel. Timeout = 1 keeps that under the 5 s bound below.
        string throughProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = proxy.Port,
            Timeout = 1,
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
            // Creates the schema, and makes each data source's first connection (which also loads PostgreSQL's type catalog,
            // within the same 1 s Timeout) before the load: on a busy machine that first open can take longer, so try again.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await outbox.GetStatisticsAsync();
                    await using NpgsqlConnection warm = await writer.OpenConnectionAsync();
                    break;
                }
                catch (NpgsqlException) when (attempt < 20)
                {
                }
            }

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
                StallFor = TimeSpan.FromSeconds(9), // longer than the bound below, so that a sender blocked for the whole stall fails it
            };
            StallScenario.Report report = await scenario.RunAsync();

            // Bound: CommandTimeout + 2 x Timeout = 4 s (above), plus 3 s for the scheduling of a loaded 2-core CI machine running
            // the other integration tests beside this one (6.0 s was seen there with a 1 s margin; alone it stays near 4 s). The
            // dispose of the failed transaction is not a wait: the timeout broke the connection, so there is nothing to roll
            // back on it. A sender blocked for the whole stall (the bug this bound caught) takes at least StallFor, 9 s.
            scenario.AssertPassed(report, errorWithin: TimeSpan.FromSeconds(7));
        }
        finally
        {
            proxy.Heal();
            await PostgresServer.DropSchemaAsync(schema);
        }
    }
}
