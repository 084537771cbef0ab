using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Outbox;
using Switchboard.Outbox.Conformance;

namespace Switchboard.EntityFrameworkCore.Tests;

/// <summary>Application code writing with a DbContext: queued messages go with SaveChanges, or with the context's transaction.</summary>
public sealed class SaveChangesTests
{
    [Fact]
    public async Task Queued_message_commits_with_the_entities_at_SaveChanges_and_is_handled_after()
    {
        await using Harness h = await Harness.StartAsync();
        OpenCounter counter = new();
        await using AppDb db = h.NewDb(interceptors: counter);

        db.Orders.Add(new Order { Id = "o1", AmountCents = 100 });
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));

        Assert.Equal(1, db.GetQueuedOutboxMessageCount());
        Assert.Equal(0, await h.OutboxRowsAsync()); // queued on the context, not written
        Assert.Equal(0, await h.Outbox.ProcessAsync());

        int storeConnections = h.Store.ConnectionsOpened;
        await db.SaveChangesAsync();

        Assert.Equal(0, db.GetQueuedOutboxMessageCount());
        Assert.Equal(1, counter.Opened); // one connection: the entities and the message shared it
        Assert.Equal(storeConnections, h.Store.ConnectionsOpened);
        Assert.Equal(1, await h.OrdersAsync());
        Assert.Equal(1, await h.OutboxRowsAsync());
        Assert.Empty(h.Created);

        Assert.Equal(1, await h.Outbox.ProcessAsync());
        Assert.Equal(["o1"], h.Created);
    }

    [Fact]
    public async Task The_commit_of_SaveChanges_wakes_the_dispatcher_at_once()
    {
        TaskCompletionSource handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TimeSpan poll = TimeSpan.FromSeconds(37); // only a wake-up can be this fast; no other timer of the bus is this long
        DispatcherSleeps sleeps = new(poll);
        await using Harness h = await Harness.StartAsync(
            b => b.UseTimeProvider(sleeps).Handle<OrderShipped>(_ => handled.TrySetResult()),
            o => { o.RunDispatcher = true; o.PollInterval = poll; });
        await using AppDb db = h.NewDb();
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (sleeps.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5); // until the dispatcher listens and went to sleep after its first, empty claim (a signal, polled)
        }

        Assert.True(sleeps.Count > 0, "the dispatcher did not go to sleep within 10 s");
        int claims = h.Store.Claims;
        Assert.True(claims > 0);

        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.PublishAsync(db, new OrderShipped("o1"));
        await db.SaveChangesAsync();

        Assert.True(await Task.WhenAny(handled.Task, Task.Delay(TimeSpan.FromSeconds(10))) == handled.Task, "not handled: the commit did not wake the dispatcher");
        Assert.True(h.Store.Claims > claims);
    }

    [Fact]
    public async Task Synchronous_SaveChanges_writes_the_queued_message_too()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));

        Assert.Equal(1, db.SaveChanges());

        Assert.Equal(1, await h.OutboxRowsAsync());
        Assert.Equal(1, await h.Outbox.ProcessAsync());
        Assert.Equal(["o1"], h.Created);
    }

    [Fact]
    public async Task SaveChanges_with_only_messages_commits_them()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        await h.Outbox.PublishAsync(db, new OrderCreated("a"));
        await h.Outbox.PublishAsync(db, new OrderCreated("b"), new OutboxMessageOptions { PartitionKey = "k" });

        await db.SaveChangesAsync();

        await h.ProcessUntilAsync(() => h.Created.Count == 2);

        // Two partition keys (none, and "k") are dispatched in parallel: both arrive, in either order.
        Assert.Equal(["a", "b"], h.Created.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_failed_SaveChanges_leaves_no_message_and_the_message_follows_the_changes_still_tracked()
    {
        await using Harness h = await Harness.StartAsync();
        await using (AppDb first = h.NewDb())
        {
            first.Orders.Add(new Order { Id = "taken" });
            await first.SaveChangesAsync();
        }

        await using AppDb db = h.NewDb();
        Order duplicate = new() { Id = "taken" };
        db.Orders.Add(duplicate);
        await h.Outbox.PublishAsync(db, new OrderCreated("taken"));

        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());

        Assert.Equal(0, await h.OutboxRowsAsync());
        Assert.Equal(0, await h.Outbox.ProcessAsync());
        Assert.Empty(h.Created);

        // EF Core still tracks the failed changes; the message waits with them and commits when they finally do.
        Assert.Equal(1, db.GetQueuedOutboxMessageCount());
        db.Entry(duplicate).State = EntityState.Detached;
        db.Orders.Add(new Order { Id = "other" });
        await db.SaveChangesAsync();

        Assert.Equal(2, await h.OrdersAsync());
        Assert.Equal(1, await h.OutboxRowsAsync());
        Assert.Equal(1, await h.Outbox.ProcessAsync());
    }

    [Fact]
    public async Task Discarded_queued_messages_are_never_written()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        await h.Outbox.PublishAsync(db, new OrderCreated("a"));
        await h.Outbox.PublishAsync(db, new OrderCreated("b"));

        Assert.Equal(2, db.DiscardQueuedOutboxMessages());
        db.Orders.Add(new Order { Id = "o1" });
        await db.SaveChangesAsync();

        Assert.Equal(0, await h.OutboxRowsAsync());
    }

    [Fact]
    public async Task Explicit_transaction_rolled_back_leaves_no_message()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(new Order { Id = "o1" });
            await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
            Assert.Equal(0, db.GetQueuedOutboxMessageCount()); // written in the transaction at once
            await db.SaveChangesAsync();
            await tx.RollbackAsync();
        }

        Assert.Equal(0, await h.OrdersAsync());
        Assert.Equal(0, await h.OutboxRowsAsync());
        Assert.Equal(0, await h.Outbox.ProcessAsync());
        Assert.Empty(h.Created);
    }

    [Fact]
    public async Task Explicit_transaction_committed_is_handled_only_after_the_commit()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        await using IDbContextTransaction tx = await db.Database.BeginTransactionAsync();
        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
        await db.SaveChangesAsync();

        Assert.Equal(0, await h.OutboxRowsAsync()); // not visible before the commit (SQLite: a claim would wait for the writer)
        Assert.Same(tx.GetDbTransaction().Connection, db.Database.GetDbConnection());

        await tx.CommitAsync();
        Assert.Equal(1, await h.Outbox.ProcessAsync());
        Assert.Equal(["o1"], h.Created);
    }

    [Fact]
    public async Task Messages_queued_before_a_transaction_began_go_into_it_first_in_order()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        OutboxMessageOptions key = new() { PartitionKey = "order-1" };
        await h.Outbox.PublishAsync(db, new OrderCreated("first"), key);
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            await h.Outbox.PublishAsync(db, new OrderCreated("second"), key);
            Assert.Equal(0, db.GetQueuedOutboxMessageCount());
            await tx.CommitAsync();
        }

        await h.ProcessUntilAsync(() => h.Created.Count == 2);
        Assert.Equal(["first", "second"], h.Created);
    }

    [Fact]
    public async Task A_failed_SaveChanges_in_the_application_transaction_takes_its_messages_back_with_a_savepoint()
    {
        await using Harness h = await Harness.StartAsync();
        await using (AppDb first = h.NewDb())
        {
            first.Orders.Add(new Order { Id = "taken" });
            await first.SaveChangesAsync();
        }

        await using AppDb db = h.NewDb();
        await h.Outbox.PublishAsync(db, new OrderCreated("queued")); // before the transaction: written by SaveChanges
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(new Order { Id = "taken" });
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
            await tx.CommitAsync(); // the application commits anyway: the failed save's message must not be in it
        }

        Assert.Equal(0, await h.OutboxRowsAsync());
        Assert.Equal(1, db.GetQueuedOutboxMessageCount());
    }

    [Fact]
    public async Task SaveChanges_in_the_application_transaction_writes_queued_messages_that_commit_with_it()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(new Order { Id = "o1" });
            await db.SaveChangesAsync();
            Assert.Equal(0, db.GetQueuedOutboxMessageCount());
            Assert.Equal(0, await h.OutboxRowsAsync());
            await tx.CommitAsync();
        }

        Assert.Equal(1, await h.Outbox.ProcessAsync());
        Assert.Equal(["o1"], h.Created);
    }

    [Fact]
    public async Task A_send_without_a_handler_fails_SaveChanges_and_saves_nothing()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb();
        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.SendAsync(db, new ShipOrder("o1")); // no handler registered for ShipOrder

        await Assert.ThrowsAsync<NoHandlerException>(() => db.SaveChangesAsync());

        Assert.Equal(0, await h.OrdersAsync());
        Assert.Equal(0, await h.OutboxRowsAsync());
    }

    [Fact]
    public async Task A_queued_command_is_sent_to_its_handler_after_SaveChanges()
    {
        List<string> shipped = [];
        await using Harness h = await Harness.StartAsync(b => b.Handle<ShipOrder>(c => shipped.Add(c.OrderId)));
        await using AppDb db = h.NewDb();
        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.SendAsync(db, new ShipOrder("o1"));
        await db.SaveChangesAsync();

        Assert.Equal(1, await h.Outbox.ProcessAsync());
        Assert.Equal(["o1"], shipped);
    }

    [Fact]
    public async Task Without_the_interceptor_and_without_a_transaction_adding_a_message_throws()
    {
        await using Harness h = await Harness.StartAsync();
        await using AppDb db = h.NewDb(outbox: false);

        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Outbox.PublishAsync(db, new OrderCreated("o1")).AsTask());
        Assert.Contains("UseSwitchboardOutbox", ex.Message, StringComparison.Ordinal);

        // With a transaction, no interceptor is needed.
        await using IDbContextTransaction tx = await db.Database.BeginTransactionAsync();
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
        await tx.CommitAsync();
        Assert.Equal(1, await h.OutboxRowsAsync());
    }

    [Fact]
    public async Task UseSwitchboardOutbox_twice_writes_each_message_once()
    {
        await using Harness h = await Harness.StartAsync();
        DbContextOptions<AppDb> options = new DbContextOptionsBuilder<AppDb>().UseSqlite(h.ConnectionString).UseSwitchboardOutbox().UseSwitchboardOutbox().Options;
        await using AppDb db = new(options);
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
        await db.SaveChangesAsync();

        Assert.Equal(1, await h.OutboxRowsAsync());
    }

    [Fact]
    public async Task A_retrying_execution_strategy_without_an_explicit_transaction_is_refused_clearly()
    {
        await using Harness h = await Harness.StartAsync();
        DbContextOptions<AppDb> options = new DbContextOptionsBuilder<AppDb>()
            .UseSqlite(h.ConnectionString, s => s.ExecutionStrategy(d => new RetryingStrategy(d)))
            .UseSwitchboardOutbox()
            .Options;
        await using AppDb db = new(options);
        db.Orders.Add(new Order { Id = "o1" });
        await h.Outbox.PublishAsync(db, new OrderCreated("o1"));

        InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
        Assert.Contains("execution strategy", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await h.OrdersAsync());
        Assert.Equal(0, await h.OutboxRowsAsync());

        // The documented way: the strategy runs the unit of work, with an explicit transaction.
        db.DiscardQueuedOutboxMessages();
        IExecutionStrategy strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using IDbContextTransaction tx = await db.Database.BeginTransactionAsync();
            await h.Outbox.PublishAsync(db, new OrderCreated("o1"));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        });

        Assert.Equal(1, await h.OrdersAsync());
        Assert.Equal(1, await h.Outbox.ProcessAsync());
    }

    [Fact]
    public async Task A_pooled_context_leased_again_does_not_carry_the_previous_users_queue()
    {
        await using Harness h = await Harness.StartAsync();
        DbContextOptions<AppDb> options = new DbContextOptionsBuilder<AppDb>().UseSqlite(h.ConnectionString).UseSwitchboardOutbox().Options;
        PooledDbContextFactory<AppDb> factory = new(options);

        AppDb first = factory.CreateDbContext();
        await h.Outbox.PublishAsync(first, new OrderCreated("abandoned"));
        await first.DisposeAsync(); // back to the pool, never saved

        await using AppDb second = factory.CreateDbContext();
        Assert.Same(first, second);
        Assert.Equal(0, second.GetQueuedOutboxMessageCount());
        second.Orders.Add(new Order { Id = "o1" });
        await second.SaveChangesAsync();
        Assert.Equal(0, await h.OutboxRowsAsync());
    }

    private sealed class RetryingStrategy(ExecutionStrategyDependencies dependencies) : ExecutionStrategy(dependencies, 3, TimeSpan.FromMilliseconds(10))
    {
        protected override bool ShouldRetryOn(Exception exception) => false;
    }
}
