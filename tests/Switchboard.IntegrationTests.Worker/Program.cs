using Switchboard;
using Switchboard.Redis;

// Usage: Switchboard.IntegrationTests.Worker <redis connection string> <stream prefix> <destination> <group>
// Consumes "worker.order-placed" messages in the group; each handler prints "handling <id>" and then hangs, so that the
// test can kill this process while the message is in flight, unacknowledged.
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: Switchboard.IntegrationTests.Worker <connection string> <prefix> <destination> <group>");
    return 2;
}

await using IMessageBus bus = MessageBus.Create(b => b
    .Configure(o => o.Name = args[3])
    .UseRedis(new RedisTransportOptions { ConnectionString = args[0], StreamPrefix = args[1], BlockTime = TimeSpan.FromMilliseconds(50), ClaimMinIdleTime = TimeSpan.FromSeconds(1) })
    .AddMessageType<WorkerOrderPlaced>("worker.order-placed")
    .RouteToTransport<WorkerOrderPlaced>(args[2])
    .Handle<WorkerOrderPlaced>(async (e, ct) =>
    {
        Console.WriteLine($"handling {e.Id}");
        await Task.Delay(Timeout.Infinite, ct);
    }));

// Publishing nothing starts the consumers; a tiny wait lets them create their groups before the test publishes.
await Task.Delay(500);
Console.WriteLine("ready");
await Task.Delay(Timeout.Infinite);
return 0;

internal sealed record WorkerOrderPlaced(string Id);
