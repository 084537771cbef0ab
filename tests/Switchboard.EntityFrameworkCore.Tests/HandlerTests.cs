using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Switchboard.Outbox;

namespace Switchboard.EntityFrameworkCore.Tests;

/// <summary>Handlers saving with a DbContext in the inbox's transaction: their data, the inbox record and their messages commit together.</summary>
public sealed class HandlerTests
{
    [Fact]
    public async Task A_handler_saves_in_the_inbox_transaction_on_one_connection_with_its_cascaded_messages()
    {
        Harness? h = null;
        ConcurrentQueue<string> shipped = new();
        OpenCounter counter = new();
        bool sameConnection = false;
        await using Harness harness = h = await Harness.StartAsync(b =>
        {
            b.Handle<ShipOrder>(async (command, context, ct) =>
            {
                await using AppDb db = h!.NewDb(interceptors: counter);
                await db.Database.UseMessageTransactionAsync(context, ct);
                sameConnection = ReferenceEquals(db.Database.GetDbConnection(), context.Transaction!.Connection);
                db.Orders.Add(new Order { Id = command.OrderId });
                await context.PublishAsync(new OrderShipped(command.OrderId), ct);  // written in the same transaction
                await h.Outbox.PublishAsync(db, new OrderCreated(command.OrderId), cancellationToken: ct); // likewise, through the context
                await db.SaveChangesAsync(ct);
                shipped.Enqueue(command.OrderId);
            });
            b.Handle<OrderShipped>(_ => { });
        });
        await using (AppDb app = h.NewDb())
        {
            await h.Outbox.SendAsync(app, new ShipOrder("o1"));
            await app.SaveChangesAsync();
        }

        await h.ProcessUntilAsync(() => h.Created.Count == 1);

        Assert.True(sameConnection);
        Assert.Equal(0, counter.Opened); // the context never opened a connection of its own
        Assert.Equal(["o1"], shipped);
        Assert.Equal(1, await h.OrdersAsync());
        Assert.Equal(3, await h.OutboxRowsAsync()); // the command and the two messages its handler published
        Assert.Equal(3, await h.InboxRowsAsync());  // each of them handled once, in an inbox unit of work
    }

    [Fact]
    public async Task A_handler_whose_SaveChanges_throws_commits_nothing_and_the_message_is_retried()
    {
        Harness? h = null;
        int attempts = 0;
        await using Harness harness = h = await Harness.StartAsync(b =>
        {
            b.Handle<ShipOrder>(async (command, context, ct) =>
            {
                int attempt = Interlocked.Increment(ref attempts);
                await using AppDb db = h!.NewDb();
                await db.Database.UseMessageTransactionAsync(context, ct);
                await context.PublishAsync(new OrderShipped(command.OrderId), ct);
                db.Orders.Add(new Order { Id = attempt == 1 ? "taken" : command.OrderId }); // the first attempt violates the key
                await db.SaveChangesAsync(ct);
            });
            b.Handle<OrderShipped>(_ => { });
        }, o => { o.Retry.InitialDelay = TimeSpan.FromHours(1); o.Retry.MaxDelay = TimeSpan.FromHours(1); o.Retry.Jitter = false; }); // the first ProcessAsync cannot reach the retry, however slow the machine
        await using (AppDb app = h.NewDb())
        {
            app.Orders.Add(new Order { Id = "taken" });
            await h.Outbox.SendAsync(app, new ShipOrder("o1"));
            await app.SaveChangesAsync();
        }

        await h.Outbox.ProcessAsync();

        Assert.Equal(1, Volatile.Read(ref attempts));
        Assert.Equal(1, await h.OrdersAsync());                 // only the application's own row
        Assert.Equal(0, await h.InboxRowsAsync());              // the inbox record rolled back with the handler's data
        Assert.Equal(1, await h.OutboxRowsAsync());             // no cascaded message
        Assert.Equal(1, await h.Store.ScalarAsync("SELECT attempts FROM switchboard_outbox"));

        Assert.Equal(1, await h.Store.ScalarAsync("SELECT COUNT(*) FROM switchboard_outbox WHERE not_before IS NOT NULL")); // the retry is scheduled, not lost
        await h.Store.ScalarAsync("UPDATE switchboard_outbox SET not_before = 0 WHERE not_before IS NOT NULL RETURNING 1"); // the hour has passed
        await h.ProcessUntilAsync(() => Volatile.Read(ref attempts) == 2);
        Assert.Equal(2, await h.OrdersAsync());
        Assert.Equal(2, await h.OutboxRowsAsync());     // the retry's cascaded message, once
        Assert.Equal(1, await h.Store.ScalarAsync(@"SELECT COUNT(*) FROM switchboard_inbox WHERE message_id IN (SELECT json_extract(headers, '$.""ce-id""') FROM switchboard_outbox WHERE id = 1)"));
    }

    [Fact]
    public async Task A_duplicate_delivery_has_no_second_effect()
    {
        Harness? h = null;
        int handled = 0;
        await using Harness harness = h = await Harness.StartAsync(b =>
        {
            b.Handle<ShipOrder>(async (command, context, ct) =>
            {
                Interlocked.Increment(ref handled);
                await using AppDb db = h!.NewDb();
                await db.Database.UseMessageTransactionAsync(context, ct);
                db.Orders.Add(new Order { Id = command.OrderId, AmountCents = 1 });
                await db.SaveChangesAsync(ct);
            });
        });

        // The same message twice, as after a dispatcher died between sending and marking the row.
        await using (AppDb app = h.NewDb())
        {
            await h.Outbox.SendAsync(app, new ShipOrder("o1"), new OutboxMessageOptions { MessageId = "same-id" });
            await h.Outbox.SendAsync(app, new ShipOrder("o1"), new OutboxMessageOptions { MessageId = "same-id" });
            await app.SaveChangesAsync();
        }

        await h.ProcessUntilAsync(() => h.Store.ScalarAsync("SELECT COUNT(*) FROM switchboard_outbox WHERE dispatched_at IS NULL").AsTask().Result == 0);

        Assert.Equal(1, Volatile.Read(ref handled));
        Assert.Equal(1, await h.OrdersAsync());
        Assert.Equal(1, (await h.Outbox.GetStatisticsAsync()).DuplicatesSkipped);
    }

    [Fact]
    public async Task Without_a_message_transaction_UseMessageTransactionAsync_throws_clearly()
    {
        Exception? error = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder>(async (command, context, ct) =>
        {
            await using Harness h = await Harness.StartAsync();
            await using AppDb db = h.NewDb();
            error = await Record.ExceptionAsync(() => db.Database.UseMessageTransactionAsync(context, ct));
        }));

        await bus.SendAsync(new ShipOrder("o1"));

        InvalidOperationException ex = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("MessageContext.Transaction", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_context_that_already_opened_its_own_connection_is_refused()
    {
        Harness? h = null;
        Exception? error = null;
        await using Harness harness = h = await Harness.StartAsync(b => b.Handle<ShipOrder>(async (command, context, ct) =>
        {
            await using AppDb db = h!.NewDb();
            _ = await db.Orders.CountAsync(ct);
            await db.Database.OpenConnectionAsync(ct);
            error = await Record.ExceptionAsync(() => db.Database.UseMessageTransactionAsync(context, ct));
        }));
        await using (AppDb app = h.NewDb())
        {
            await h.Outbox.SendAsync(app, new ShipOrder("o1"));
            await app.SaveChangesAsync();
        }

        await h.ProcessUntilAsync(() => error is not null);

        InvalidOperationException ex = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("already opened a connection", ex.Message, StringComparison.Ordinal);
    }
}
