using Microsoft.Data.Sqlite;
using Orders;
using Switchboard;
using Switchboard.Outbox;

// The order scenario of the seeds, step by step, in one process on the embedded defaults: handlers run in this process,
// ExecuteAsync goes through the in-memory queue and response store, and the transactional outbox and inbox live in a
// SQLite file (embedded, no server). No configuration.
//
//   dotnet run --project samples/Switchboard.Samples.Orders
//
// Across two processes over Redis: `-- --redis 127.0.0.1:6379 worker` in one terminal, `-- --redis 127.0.0.1:6379` in another.
// Over Amazon SQS (seed 000, results through Redis): `-- --sqs [url] --response-store 127.0.0.1:6379 [worker]`.
// Dead letters on the operations page: `-- --dashboard` (in memory) or `-- --dashboard --redis 127.0.0.1:6379`.

if (args.Contains("--sqs"))
{
    // Seed 000 across two processes over Amazon SQS, results through Redis: see OverSqs.cs.
    await OverSqs.RunAsync(args);
    return;
}

if (args.Contains("--dashboard"))
{
    // The dead letters of failed payments on the operations page (http://127.0.0.1:5080/switchboard): see WithDashboard.cs.
    await WithDashboard.RunAsync(args);
    return;
}

// Across two processes over Kafka: `-- --kafka 127.0.0.1:9092 worker` in one terminal, `-- --kafka 127.0.0.1:9092` in another.

if (args.Contains("--kafka"))
{
    // The same orders across two processes over Kafka: see OverKafka.cs.
    await OverKafka.RunAsync(args);
    return;
}

if (args.Contains("--redis"))
{
    // The same orders across two processes over Redis Streams: see OverRedis.cs.
    await OverRedis.RunAsync(args);
    return;
}

Console.WriteLine("Switchboard order scenario: one process, in-memory queue and response store, SQLite outbox, no server.");

// The application's database: its orders table and, next to it, the outbox's tables (created when the bus starts).
string database = Path.Combine(Path.GetTempPath(), "switchboard-orders-sample.db");
foreach (string file in new[] { database, database + "-wal", database + "-shm" })
{
    File.Delete(file); // a fresh run every time
}

string connectionString = $"Data Source={database}";

OrderBook book = new();
PaymentDesk payments = new();
TaskCompletionSource<string> invoiceWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);

await using IMessageBus bus = MessageBus.Create(b =>
{
    b.Configure(options => options.Name = "orders"); // the bus's name is also the name of its queue

    // The transactional outbox and inbox (Switchboard.Sqlite): messages written in the application's transaction are sent
    // after it commits, messages cascaded from handlers go through it, and received messages are deduplicated.
    b.UseSqliteOutbox(connectionString);

    // Two handlers of one event: PublishAsync runs both.
    b.Handle<OrderCreated>(e => Narrator.Handler("email", $"confirmation for {e.OrderId} sent to {e.Customer} ({Narrator.Money(e.AmountCents)})"));
    b.Handle<OrderCreated>(async (e, ct) =>
    {
        await Task.Yield(); // an asynchronous handler: awaited before the next one runs
        Narrator.Handler("stock", $"items reserved for {e.OrderId}");
        Delivered.Signal(e.OrderId);
    });

    // Commands and requests: exactly one handler each.
    b.Handle<ShipOrder>(command => book.Set(command.OrderId, "shipped"));

    // Middleware (docs/pipeline.md): a validator rejects a bad command before its handler runs.
    b.AddValidator<ShipOrder>(command => command.OrderId.StartsWith("ord-", StringComparison.Ordinal) ? [] : [$"'{command.OrderId}' is not an order id."]);
    b.Handle<CancelOrder, bool>(command => book.TryCancel(command.OrderId));
    b.Handle<GetOrderStatus, OrderStatus>(query => new OrderStatus(query.OrderId, book.Get(query.OrderId)));
    b.Handle<ChargePayment, PaymentReceipt>(payments.Charge);
    b.AddHandler(new PlaceOrderHandler(book)); // a class handler, registered as an instance because it needs the order book

    // A slow event handler, for the background step.
    b.Handle<InvoiceRequested>(async (e, ct) =>
    {
        await Task.Delay(50, ct);
        invoiceWritten.TrySetResult($"invoice-{e.OrderId}.pdf");
    });

    OrderAggregateStep.Register(b); // the events of the event-sourced Order (OrderAggregate.cs)
});

Narrator.Step("PublishAsync(OrderCreated): an event reaches every handler of its type");
await bus.PublishAsync(new OrderCreated("ord-1", "alice", 1999));
Narrator.Said("PublishAsync returned after both handlers had run.");

Narrator.Step("SendAsync and RequestAsync: a command goes to its one handler");
await bus.SendAsync(new ShipOrder("ord-1"));
Narrator.Said("SendAsync(ShipOrder ord-1) returned: the order is shipped.");
bool cancelled = await bus.RequestAsync(new CancelOrder("ord-1"));
Narrator.Said($"RequestAsync(CancelOrder ord-1) returned {cancelled}: a shipped order cannot be cancelled.");

Narrator.Step("Middleware: a validator rejects a command before its handler runs");
try
{
    await bus.SendAsync(new ShipOrder("42"));
}
catch (MessageValidationException ex)
{
    Narrator.Said($"SendAsync(ShipOrder 42) refused: {ex.Message}");
}

Narrator.Step("RequestAsync(GetOrderStatus): a request and its reply");
OrderStatus status = await bus.RequestAsync(new GetOrderStatus("ord-1"));
Narrator.Said($"reply: {status}");

Narrator.Step("ExecuteAsync: through the queue to a worker, the result back through the response store (seed 000)");
object? receipt = await bus.ExecuteAsync(new ChargePayment("ord-1", 1999), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(5) });
Narrator.Said($"Wait = true:  serialized onto queue '{bus.Name}', handled by a worker, answered through the store:");
Narrator.Said($"              {receipt}");
object? nothing = await bus.ExecuteAsync(new ChargePayment("ord-2", 4500), new ExecuteOptions { Wait = false });
Narrator.Said($"Wait = false: returned {nothing ?? "null"} at once; the message is only queued.");
PaymentReceipt charged = await payments.WhenCharged("ord-2").WaitAsync(TimeSpan.FromSeconds(5));
Narrator.Said($"              a worker charged it a moment later: {charged}");

Narrator.Step("MessageContext.PublishAsync: a class handler cascades an event, sent through the outbox after it succeeds");
Task ord3Delivered = Delivered.WhenDelivered("ord-3");
OrderPlaced placed = await bus.RequestAsync(new PlaceOrder("ord-3", "bob", 4200));
Narrator.Said($"RequestAsync returned {placed}; the cascaded OrderCreated was written to the outbox.");
await ord3Delivered.WaitAsync(TimeSpan.FromSeconds(5));
Narrator.Said("the outbox's dispatcher, woken by that commit, delivered it to both handlers.");
try
{
    await bus.RequestAsync(new PlaceOrder("ord-4", "carol", 0));
}
catch (InvalidOperationException ex)
{
    Narrator.Said($"PlaceOrder(ord-4) threw \"{ex.Message}\": the OrderCreated it had published was discarded (no email, no stock).");
}

Narrator.Step("IOutbox: the order row and its event commit together, or not at all (seed 004's register_outbox_message)");
IOutbox outbox = bus.GetOutbox();
await using (SqliteConnection db = new(connectionString))
{
    await db.OpenAsync();
    await Sql(db, null, "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL, amount INTEGER NOT NULL)");

    Task ord7Delivered = Delivered.WhenDelivered("ord-7");
    await using (SqliteTransaction committed = db.BeginTransaction())
    {
        await Sql(db, committed, "INSERT INTO orders VALUES ('ord-7', 'frank', 1250)");
        await outbox.PublishAsync(committed, new OrderCreated("ord-7", "frank", 1250));
        Narrator.Said("ord-7 inserted and its OrderCreated added in one transaction; nothing is sent before the commit.");
        await committed.CommitAsync();
    }

    await ord7Delivered.WaitAsync(TimeSpan.FromSeconds(5));
    Narrator.Said("committed: the dispatcher was woken by the commit and the handlers ran.");

    await using (SqliteTransaction rolledBack = db.BeginTransaction())
    {
        await Sql(db, rolledBack, "INSERT INTO orders VALUES ('ord-8', 'grace', 990)");
        await outbox.PublishAsync(rolledBack, new OrderCreated("ord-8", "grace", 990));
        await rolledBack.RollbackAsync();
    }

    await outbox.ProcessAsync(); // dispatch whatever is due, now (seed 004's process_outbox): there is nothing
    OutboxStatistics outboxStats = await outbox.GetStatisticsAsync();
    Narrator.Said($"ord-8 rolled back: no row, no event. Outbox: added {outboxStats.Added}, dispatched {outboxStats.Dispatched}, pending {outboxStats.Pending}, dead {outboxStats.Dead}.");
}

Narrator.Step("AggregateRepository: an event-sourced order saved with its outbox rows, then a catch-up projection (seed 001)");
await OrderAggregateStep.RunAsync(bus, connectionString);

Narrator.Step("Topics: Subscribe(pattern) with wildcards, PublishAsync(topic, payload)");
using (Subscription picked = bus.Subscribe("warehouse/*/picked", m => Narrator.Handler("warehouse/*/picked", $"{m.Topic}: {m.As<ParcelPicked>()}")))
using (Subscription everything = bus.Subscribe("warehouse/#", m => Narrator.Handler("warehouse/#", m.Topic)))
{
    await bus.PublishAsync("warehouse/berlin/picked", new { OrderId = "ord-1", Items = 3 });
    await bus.PublishAsync("warehouse/lyon/picked", new { OrderId = "ord-3", Items = 1 });
    await bus.PublishAsync("warehouse/berlin/loaded", new { Truck = "B-42" });
}

Narrator.Said("'*' matches one segment, '#' any tail; As<ParcelPicked>() converted the anonymous payloads.");

Narrator.Step("Stream<T>: an async stream, registered when created (subscribe before send, seed 003)");
await using (EventStream<ParcelScanned> scans = bus.Stream<ParcelScanned>())
{
    await bus.PublishAsync(new ParcelScanned("ord-1", "Berlin hub"));
    await bus.PublishAsync(new ParcelScanned("ord-1", "Leipzig depot"));
    await bus.PublishAsync(new ParcelScanned("ord-1", "front door"));
    Narrator.Said($"3 scans published before anyone read: the stream buffered them (Count = {scans.Count}).");

    using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(5));
    int read = 0;
    await foreach (ParcelScanned scan in scans.WithCancellation(timeout.Token))
    {
        Narrator.Handler("tracking", $"{scan.OrderId} at {scan.Location}");
        if (++read == 3)
        {
            break;
        }
    }

    Narrator.Said($"leaving the await foreach removed the stream (IsActive = {scans.IsActive}); later scans are stored nowhere.");
}

Narrator.Step("PublishOptions.InBackground: fire-and-forget on the bus's worker pool");
await bus.PublishAsync(new InvoiceRequested("ord-1"), PublishOptions.InBackground);
Narrator.Said($"PublishAsync returned once the event was queued (invoice written yet: {invoiceWritten.Task.IsCompleted}).");
string invoice = await invoiceWritten.Task.WaitAsync(TimeSpan.FromSeconds(5));
Narrator.Said($"a background worker wrote {invoice} about 50 ms later.");

Narrator.Step("CreateScope: an isolated bus, whose events reach only its own subscribers");
int rootSaw = 0, scopeSaw = 0;
using (bus.Subscribe<CartUpdated>(_ => rootSaw++))
{
    await using IMessageBus checkout = bus.CreateScope("checkout");
    using Subscription onScope = checkout.Subscribe<CartUpdated>(_ => scopeSaw++);

    await checkout.PublishAsync(new CartUpdated("cart-9", 2));
    Narrator.Said($"published on scope '{checkout.Name}': the scope's subscriber saw {scopeSaw}, the root's saw {rootSaw}.");
    await bus.PublishAsync(new CartUpdated("cart-9", 3));
    Narrator.Said($"published on the root bus:            the scope's subscriber saw {scopeSaw}, the root's saw {rootSaw}.");
    OrderStatus fromScope = await checkout.RequestAsync(new GetOrderStatus("ord-3"));
    Narrator.Said($"handlers registered on the builder serve every scope: {fromScope}");
}

Narrator.Step("BusService: a service with a lifecycle; its subscriptions go when it stops (seed 002)");
List<ServiceStatus> statuses = [];
using (bus.Subscribe<ServiceStatusChanged>(change => statuses.Add(change.Current)))
{
    FraudWatch fraudWatch = new(bus);
    await fraudWatch.StartAsync();
    Narrator.Said($"started: {fraudWatch.Status}, holding {fraudWatch.SubscriptionCount} subscription.");
    await bus.PublishAsync(new OrderCreated("ord-5", "dave", 250_000));
    await fraudWatch.StopAsync();
    Narrator.Said($"stopped: {fraudWatch.Status}, holding {fraudWatch.SubscriptionCount} subscriptions.");
    Narrator.Said($"statuses it published on the bus: {string.Join(" -> ", statuses)}");
}

Narrator.Step("GetStatistics: the bus's counters (seed 001's get_stats)");
BusStatistics stats = bus.GetStatistics();
Narrator.Said($"EventsPublished {stats.EventsPublished}, HandlersInvoked {stats.HandlersInvoked}, HandlerErrors {stats.HandlerErrors}");
Narrator.Said($"BackgroundTasksCreated {stats.BackgroundTasksCreated}, BackgroundTasksCompleted {stats.BackgroundTasksCompleted}");
Narrator.Said($"CommandsSent {stats.CommandsSent}, RequestsSent {stats.RequestsSent}");
foreach ((string transport, TransportStatistics counts) in stats.Transports)
{
    Narrator.Said($"transport '{transport}': sent {counts.Sent}, received {counts.Received}, acknowledged {counts.Acknowledged}, " +
        $"retried {counts.Retried}, dead-lettered {counts.DeadLettered}");
}

Narrator.Step("ShutdownAsync: stop accepting, drain what is in flight, stop the worker");
ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromSeconds(5));
Narrator.Said($"Completed {report.Completed}, InFlightAbandoned {report.InFlightAbandoned}, " +
    $"BackgroundAbandoned {report.BackgroundAbandoned}, Elapsed {report.Elapsed.TotalMilliseconds:0.0} ms");
try
{
    await bus.PublishAsync(new OrderCreated("ord-6", "erin", 100));
}
catch (BusStoppedException ex)
{
    Narrator.Said($"afterwards PublishAsync throws {nameof(BusStoppedException)}: {ex.Message}");
}

static async Task Sql(SqliteConnection db, SqliteTransaction? transaction, string sql)
{
    await using SqliteCommand command = db.CreateCommand();
    command.Transaction = transaction;
    command.CommandText = sql;
    await command.ExecuteNonQueryAsync();
}
