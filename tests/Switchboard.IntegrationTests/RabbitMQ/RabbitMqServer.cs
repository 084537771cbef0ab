using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Switchboard.IntegrationTests.RabbitMQ;

/// <summary>The RabbitMQ node that scripts/servers.sh started. Without it the tests fail with this message; they never skip.</summary>
public static class RabbitMqServer
{
    public static Uri Uri
        => Environment.GetEnvironmentVariable("SWITCHBOARD_RABBITMQ") is { Length: > 0 } value
            ? new Uri(value)
            : throw new InvalidOperationException(
                "SWITCHBOARD_RABBITMQ is not set, so there is no RabbitMQ to test against. Run scripts/test.sh (it starts RabbitMQ on 127.0.0.1:5679 " +
                "through scripts/servers.sh and sets it), or start one and set SWITCHBOARD_RABBITMQ=amqp://guest:guest@127.0.0.1:5672/.");

    public static string NewExchange() => "sbtest-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Deletes an exchange and the queues a test declared.</summary>
    public static async Task DeleteAsync(string exchange, IEnumerable<string> queues)
    {
        ConnectionFactory factory = new() { Uri = Uri };
        await using IConnection connection = await factory.CreateConnectionAsync();
        foreach (string queue in queues.Distinct())
        {
            await using IChannel channel = await connection.CreateChannelAsync();
            try
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }
            catch (OperationInterruptedException)
            {
                // Already gone.
            }
        }

        await using IChannel last = await connection.CreateChannelAsync();
        await last.ExchangeDeleteAsync(exchange, ifUnused: false);
    }
}
