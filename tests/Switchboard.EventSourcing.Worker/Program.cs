using Switchboard;
using Switchboard.EventSourcing;
using Switchboard.EventSourcing.Postgres;
using Switchboard.EventSourcing.Sqlite;
using Switchboard.EventSourcing.Worker;
using Switchboard.Postgres;
using Switchboard.Sqlite;

// A child process the event sourcing tests start and kill for real:
//   save <sqlite|postgres> <connection string> <space> <order id>
//       saves a new order (three events) through AggregateRepository with the outbox on the same database and no dispatcher
//       running, prints "saved <id>" once the transaction committed, and hangs: killed after the commit, before any dispatch.
//       <space> is the SQLite table prefix or the PostgreSQL schema.
if (args is not ["save", string store, string connectionString, string space, string id])
{
    Console.Error.WriteLine("usage: Switchboard.EventSourcing.Worker save <sqlite|postgres> <connection string> <space> <order id>");
    return 2;
}

EventTypes types = TestOrder.Types();
RelationalEventStore events = store == "sqlite"
    ? new SqliteEventStore(new SqliteEventStoreOptions { ConnectionString = connectionString, TablePrefix = space }, types)
    : new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = connectionString, Schema = space }, types);
await using (events)
{
    await using IMessageBus bus = MessageBus.Create(b =>
    {
        TestOrder.AddMessageTypes(b.Configure(o => o.Name = "es-killed-writer"));
        if (store == "sqlite")
        {
            b.UseSqliteOutbox(new SqliteOutboxStoreOptions { ConnectionString = connectionString, TablePrefix = space }, o => o.RunDispatcher = false);
        }
        else
        {
            b.UsePostgresOutbox(new PostgresOutboxStoreOptions { ConnectionString = connectionString, Schema = space }, o => o.RunDispatcher = false);
        }
    });

    AggregateRepository<TestOrder> repository = new(events, bus, orderId => new TestOrder(orderId));
    if (!repository.PublishesThroughOutbox)
    {
        Console.Error.WriteLine("the repository does not publish through the outbox");
        return 3;
    }

    TestOrder order = repository.CreateNew(id);
    order.Place("killed", 1_999);
    order.AddLine("sku-1", 2);
    order.Ship();
    await repository.SaveAsync(order);
    Console.WriteLine($"saved {id}");
    await Task.Delay(Timeout.Infinite);
}

return 0;
