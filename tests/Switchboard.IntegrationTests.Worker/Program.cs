using System.Data.Common;
using Switchboard;
using Switchboard.IntegrationTests.Worker;
using Switchboard.Outbox;
using Switchboard.Kafka;
using Switchboard.Redis;

// A child process the integration tests start and kill for real. The first argument picks the mode:
//   outbox-commit <store> <connection string> <space> <message id>
//       writes a business row and an outbox message in one transaction with no dispatcher running, commits, prints
//       "committed <id>" and hangs: killed after the commit, before any dispatch.
//   outbox-sent <store> <connection string> <space> <redis> <stream prefix> <destination> <message id>
//       the same, with a dispatcher that sends to Redis through a transport that prints "sent <id>" once Redis confirmed the
//       message and then hangs: killed after the dispatch, before the row is marked dispatched.
//   sqs-consume <sqs url> <queue prefix> <destination> <group>
//       the same over SQS (the SQS killed-consumer test).
//   sqs-serve <sqs url> <queue prefix> <redis> <response key prefix>
//       seed 000's worker over SQS: handles "seed.place-order" requests and stores each result in a RedisResponseStore;
//       prints "handled <id>" after each (an order id starting with "slow" takes 5 s).
//   kafka <bootstrap servers> <topic prefix> <destination> <group>
//       consumes "worker.account-changed" messages (keyed by account) in the group; prints "handled <id>" after each, except
//       that a message whose id starts with "hang" prints "handling <id>" and hangs: the Kafka fault tests kill this process
//       with records of several keys completed out of order around the hung one.
//   kafka-load <bootstrap servers> <topic prefix> <destination> <group>
//       the poison-message and graceful-shutdown consumer (KafkaLoad.cs): stops gracefully on SIGTERM.
//   <redis connection string> <stream prefix> <destination> <group>   (no mode: the Redis killed-consumer test)
//       consumes "worker.order-placed" messages in the group; each handler prints "handling <id>" and then hangs, so that
//       the test can kill this process while the message is in flight, unacknowledged.
return args switch
{
    ["outbox-commit", string store, string connectionString, string space, string id] => await CommitThenHangAsync(store, connectionString, space, id),
    ["outbox-sent", string store, string connectionString, string space, string redis, string prefix, string destination, string id]
        => await SendThenHangAsync(store, connectionString, space, redis, prefix, destination, id),
    ["sqs-consume", string url, string prefix, string destination, string group] => await SqsConsumeThenHangAsync(url, prefix, destination, group),
    ["sqs-serve", string url, string prefix, string redis, string keyPrefix] => await SqsServeAsync(url, prefix, redis, keyPrefix),
    ["kafka", string bootstrap, string prefix, string destination, string group] => await ConsumeKafkaAsync(bootstrap, prefix, destination, group),
    ["kafka-load", string bootstrap, string prefix, string destination, string group] => await KafkaLoad.RunAsync(bootstrap, prefix, destination, group),
    [string redis, string prefix, string destination, string group] when !redis.StartsWith("outbox-", StringComparison.Ordinal)
        => await ConsumeThenHangAsync(redis, prefix, destination, group),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Switchboard.IntegrationTests.Worker outbox-commit <store> <connection string> <space> <id>");
    Console.Error.WriteLine("       Switchboard.IntegrationTests.Worker outbox-sent <store> <connection string> <space> <redis> <prefix> <destination> <id>");
    Console.Error.WriteLine("       Switchboard.IntegrationTests.Worker <redis connection string> <prefix> <destination> <group>");
    return 2;
}

static async Task<int> CommitThenHangAsync(string store, string connectionString, string space, string id)
{
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = "fault-writer")
        .AddMessageType<FaultEvent>(FaultEvent.WireName)
        .UseOutbox(FaultStores.Create(store, connectionString, space), disposeWithBus: true, o => o.RunDispatcher = false));
    await CommitAsync(bus, store, connectionString, space, id);
    Console.WriteLine($"committed {id}");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

static async Task<int> SendThenHangAsync(string store, string connectionString, string space, string redis, string prefix, string destination, string id)
{
    RedisTransport transport = new(new RedisTransportOptions { ConnectionString = redis, StreamPrefix = prefix });
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = "fault-writer")
        .UseTransport(new HangAfterSendTransport(transport), disposeWithBus: true)
        .AddMessageType<FaultEvent>(FaultEvent.WireName)
        .RouteToTransport<FaultEvent>(destination)
        .UseOutbox(FaultStores.Create(store, connectionString, space), disposeWithBus: true, o =>
        {
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.LeaseDuration = TimeSpan.FromSeconds(1);
        }));
    await CommitAsync(bus, store, connectionString, space, id);
    Console.WriteLine($"committed {id}");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

static async Task CommitAsync(IMessageBus bus, string store, string connectionString, string space, string id)
{
    // The outbox's tables exist (and on SQLite the database is in WAL mode) before the application's transaction takes the
    // write lock: as at the start of any application, the store sets the database up first.
    await bus.GetOutbox().GetStatisticsAsync();
    await using DbConnection connection = await FaultStores.OpenAsync(store, connectionString);
    await FaultStores.CreateBusinessTableAsync(connection, store, space);
    await using DbTransaction transaction = await connection.BeginTransactionAsync();
    await FaultStores.InsertBusinessRowAsync(transaction, store, space, id);
    await bus.GetOutbox().PublishAsync(transaction, new FaultEvent(id), new OutboxMessageOptions { MessageId = id });
    await transaction.CommitAsync();
}

static async Task<int> ConsumeThenHangAsync(string redis, string prefix, string destination, string group)
{
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = group)
        .UseRedis(new RedisTransportOptions { ConnectionString = redis, StreamPrefix = prefix, BlockTime = TimeSpan.FromMilliseconds(50), ClaimMinIdleTime = TimeSpan.FromSeconds(1) })
        .AddMessageType<WorkerOrderPlaced>("worker.order-placed")
        .RouteToTransport<WorkerOrderPlaced>(destination)
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
}

static Switchboard.AmazonSqs.SqsTransportOptions SqsOptions(string url, string prefix) => new()
{
    ServiceUrl = new Uri(url),
    // Dummy keys for the emulator, from the environment when the test sets them.
    AccessKeyId = Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_ACCESS_KEY") ?? "test",
    SecretAccessKey = Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_SECRET_KEY") ?? "test",
    QueueNamePrefix = prefix,
    WaitTime = TimeSpan.FromSeconds(1),
    VisibilityTimeout = TimeSpan.FromSeconds(2),
    GroupDiscoveryInterval = TimeSpan.FromSeconds(1),
};

static async Task<int> SqsConsumeThenHangAsync(string url, string prefix, string destination, string group)
{
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = group)
        .UseAmazonSqs(SqsOptions(url, prefix))
        .AddMessageType<WorkerOrderPlaced>("worker.order-placed")
        .RouteToTransport<WorkerOrderPlaced>(destination)
        .Handle<WorkerOrderPlaced>(async (e, ct) =>
        {
            Console.WriteLine($"handling {e.Id}");
            await Task.Delay(Timeout.Infinite, ct);
        }));
    // Consumers start in the background with the bus; a moment lets them create their queues before the test sends.
    await Task.Delay(1500);
    Console.WriteLine("ready");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

static async Task<int> SqsServeAsync(string url, string prefix, string redis, string keyPrefix)
{
    using StackExchange.Redis.ConnectionMultiplexer connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
    RedisResponseStore responses = new(connection, keyPrefix);
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => o.Name = "order-worker")
        .UseAmazonSqs(SqsOptions(url, prefix))
        .UseResponseStore(responses)
        .AddMessageType<SeedPlaceOrder>("seed.place-order")
        .AddMessageType<SeedOrderPlaced>("seed.order-placed")
        .RouteToTransport<SeedPlaceOrder>("orders")
        .Handle<SeedPlaceOrder, SeedOrderPlaced>(async (order, ct) =>
        {
            if (order.OrderId.StartsWith("slow", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromSeconds(5), ct);
            }

            Console.WriteLine($"handled {order.OrderId}");
            return new SeedOrderPlaced(order.OrderId, "placed", order.AmountCents);
        }));
    // Consumers start in the background with the bus; a moment lets them create their queues before the test sends.
    await Task.Delay(1500);
    Console.WriteLine("ready");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

static async Task<int> ConsumeKafkaAsync(string bootstrap, string prefix, string destination, string group)
{
    KafkaTransportOptions options = new()
    {
        BootstrapServers = bootstrap,
        TopicPrefix = prefix,
        CreateTopics = false,
        Linger = TimeSpan.FromMilliseconds(1),
        SessionTimeout = TimeSpan.FromSeconds(2),
        HeartbeatInterval = TimeSpan.FromMilliseconds(250),
        MaxPollInterval = TimeSpan.FromSeconds(30),
        CommitInterval = TimeSpan.FromMilliseconds(100),
    };
    await using IMessageBus bus = MessageBus.Create(b => b
        .Configure(o => { o.Name = group; o.ConsumerConcurrency = 4; })
        .UseKafka(options)
        .AddMessageType<WorkerAccountChanged>("worker.account-changed")
        .RouteToTransport<WorkerAccountChanged>(destination)
        .Handle<WorkerAccountChanged>(async (e, ct) =>
        {
            if (e.Id.StartsWith("hang", StringComparison.Ordinal))
            {
                Console.WriteLine($"handling {e.Id}");
                await Task.Delay(Timeout.Infinite, ct);
            }

            Console.WriteLine($"handled {e.Id}");
        }));

    // Consumers start with the bus; the group is joined in the background (records are read from the group's start, so a
    // message published before the join completes is not missed).
    Console.WriteLine("ready");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

internal sealed record WorkerOrderPlaced(string Id);

internal sealed record SeedPlaceOrder(string OrderId, long AmountCents) : IRequest<SeedOrderPlaced>;

internal sealed record SeedOrderPlaced(string OrderId, string Status, long AmountCents);
internal sealed record WorkerAccountChanged(string Id) : DomainEvent;
