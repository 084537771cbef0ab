using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.IntegrationTests.RabbitMQ;
using Switchboard.RabbitMQ;
using Switchboard.Transport.Conformance;

namespace Switchboard.IntegrationTests.Faults;

public sealed record FpRabbitOrder(string Id);

/// <summary>The RabbitMQ transport behind a <see cref="FaultProxy"/>: a stalled network, no RST.</summary>
public sealed class RabbitMqFaultTests
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Stall_PublishesFailInTime_NoneIsConfirmedWithoutTheBroker_HealthReportsIt_ConsumersResume_LostZero()
    {
        string exchange = RabbitMqServer.NewExchange();
        Uri broker = RabbitMqServer.Uri;
        await using FaultProxy proxy = new(broker.Host, broker.Port);
        RabbitMqTransportOptions Options() => new()
        {
            Uri = new UriBuilder(broker) { Host = "127.0.0.1", Port = proxy.Port }.Uri,
            ExchangeName = exchange,
            SendTimeout = SendTimeout,
            HealthCheckTimeout = TimeSpan.FromSeconds(1),
            Heartbeat = TimeSpan.FromSeconds(2),
        };
        Ledger ledger = new();
        RabbitMqTransport consumerTransport = new(Options());
        RabbitMqTransport senderTransport = new(Options());
        try
        {
            await using (IMessageBus consumer = MessageBus.Create(b => b
                .Configure(o => o.Name = "billing")
                .UseRabbitMq(consumerTransport)
                .RouteToTransport<FpRabbitOrder>("orders")
                .Handle<FpRabbitOrder>(e => ledger.Handled(e.Id))))
            await using (IMessageBus sender = MessageBus.Create(b => b
                .Configure(o => o.Name = "web")
                .UseRabbitMq(senderTransport)
                .RouteToTransport<FpRabbitOrder>("orders")))
            {
                await ((Switchboard.Bus.SwitchboardBus)consumer).EnsureStartedAsync(CancellationToken.None);
                RabbitMqHealthCheck health = new(senderTransport);
                StallScenario scenario = new()
                {
                    Proxy = proxy,
                    Ledger = ledger,
                    Publish = id => sender.PublishAsync(new FpRabbitOrder(id)).AsTask(),
                    Health = async () => (await health.CheckHealthAsync(new HealthCheckContext())).Status,
                };
                StallScenario.Report report = await scenario.RunAsync();

                scenario.AssertPassed(report, errorWithin: SendTimeout + TimeSpan.FromSeconds(2));
                Assert.Contains(report.FailureTypes, f => f.StartsWith("TimeoutException: RabbitMQ did not confirm", StringComparison.Ordinal));
            }
        }
        finally
        {
            proxy.Heal();
            List<string> queues = [.. consumerTransport.DeclaredQueues, .. senderTransport.DeclaredQueues];
            await consumerTransport.DisposeAsync();
            await senderTransport.DisposeAsync();
            await RabbitMqServer.DeleteAsync(exchange, queues);
        }
    }
}
