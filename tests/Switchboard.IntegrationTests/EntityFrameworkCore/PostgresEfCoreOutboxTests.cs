using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;
using Switchboard.EntityFrameworkCore;
using Switchboard.IntegrationTests.Postgres;
using Switchboard.Outbox;
using Switchboard.Outbox.Conformance;
using Switchboard.Postgres;

namespace Switchboard.IntegrationTests.EntityFrameworkCore;

public sealed record EfOrderCreated(string OrderId);

public sealed record EfShipOrder(string OrderId);

public sealed record EfOrderShipped(string OrderId);

public sealed class EfOrder
{
    public string Id { get; set; } = "";

    public long AmountCents { get; set; }
}

public sealed class EfAppDb(DbContextOptions<EfAppDb> options) : DbContext(options)
{
    public DbSet<EfOrder> Orders => Set<EfOrder>();
}

/// <summary>
/// The EF Core outbox on PostgreSQL through Npgsql.EntityFrameworkCore.PostgreSQL and the Postgres store. Each test has a
/// schema of its own; the application's tables and the outbox live in it, and every connection's search path points there.
/// The dispatcher polls every 30 s: a handler that runs at once was woken by the commit (NOTIFY).
/// </summary>
public sealed class PostgresEfCoreOutboxTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _schema = PostgresServer.NewSchema();
    private readonly ConcurrentQueue<string> _created = new();
    private readonly ConcurrentQueue<string> _log = new();
    private NpgsqlDataSource _dataSource = null!;
    private IMessageBus _bus = null!;

    private IOutbox Outbox => _bus.GetOutbox();

    public async Task InitializeAsync()
    {
        await PostgresServer.ExecuteAsync($"CREATE SCHEMA \"{_schema}\"; CREATE TABLE \"{_schema}\".\"Orders\" (\"Id\" text PRIMARY KEY, \"AmountCents\" bigint NOT NULL)");
        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { SearchPath = _schema }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_bus is not null)
        {
            await _bus.DisposeAsync();
        }

        await _dataSource.DisposeAsync();
        await PostgresServer.DropSchemaAsync(_schema);
    }

    [Fact]
    public async Task Queued_message_commits_with_the_entities_at_SaveChanges_and_is_handled_at_once_after()
    {
        await StartAsync();
        await using EfAppDb db = NewDb();
        db.Orders.Add(new EfOrder { Id = "o1", AmountCents = 5 });
        await Outbox.PublishAsync(db, new EfOrderCreated("o1"));
        Assert.Equal(0L, await CountAsync("switchboard_outbox"));

        await db.SaveChangesAsync();

        await Waiting.UntilAsync(() => _created.Count == 1, Patience, () => "not handled");
        Assert.Equal(["o1"], _created);
        Assert.Equal(1L, await CountAsync("\"Orders\""));
    }

    [Fact]
    public async Task A_failed_SaveChanges_leaves_no_message()
    {
        await StartAsync();
        await using (EfAppDb first = NewDb())
        {
            first.Orders.Add(new EfOrder { Id = "taken" });
            await first.SaveChangesAsync();
        }

        await using EfAppDb db = NewDb();
        db.Orders.Add(new EfOrder { Id = "taken" });
        await Outbox.PublishAsync(db, new EfOrderCreated("taken"));

        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());

        Assert.Equal(0L, await CountAsync("switchboard_outbox"));
        Assert.Equal(0, await Outbox.ProcessAsync());
        Assert.Empty(_created);
    }

    [Fact]
    public async Task A_failed_SaveChanges_in_the_application_transaction_takes_its_messages_back()
    {
        await StartAsync();
        await using (EfAppDb first = NewDb())
        {
            first.Orders.Add(new EfOrder { Id = "taken" });
            await first.SaveChangesAsync();
        }

        await using EfAppDb db = NewDb();
        await Outbox.PublishAsync(db, new EfOrderCreated("queued"));
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            EfOrder duplicate = new() { Id = "taken" };
            db.Orders.Add(duplicate);
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());

            // The transaction is usable again (rolled back to the savepoints) and commits the rest.
            db.Entry(duplicate).State = EntityState.Detached;
            db.DiscardQueuedOutboxMessages();
            db.Orders.Add(new EfOrder { Id = "other" });
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }

        Assert.Equal(0L, await CountAsync("switchboard_outbox"));
        Assert.Equal(2L, await CountAsync("\"Orders\""));
    }

    [Fact]
    public async Task Explicit_transaction_rolled_back_leaves_no_message_committed_is_handled()
    {
        await StartAsync();
        await using EfAppDb db = NewDb();
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(new EfOrder { Id = "rolled-back" });
            await Outbox.PublishAsync(db, new EfOrderCreated("rolled-back"));
            await db.SaveChangesAsync();
            await tx.RollbackAsync();
        }

        db.ChangeTracker.Clear();
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(new EfOrder { Id = "committed" });
            await Outbox.PublishAsync(db, new EfOrderCreated("committed"));
            await db.SaveChangesAsync();
            Assert.Equal(0, await Outbox.ProcessAsync()); // PostgreSQL: invisible before the commit
            await tx.CommitAsync();
        }

        await Waiting.UntilAsync(() => _created.Count == 1, Patience, () => "not handled");
        // No row pending: every committed row was handled and marked, and a rolled-back one left no row to dispatch later.
        await Waiting.UntilAsync(async () => (await Outbox.GetStatisticsAsync()).Pending == 0, Patience, () => "rows are still pending");
        Assert.Equal(["committed"], _created);
        Assert.Equal(1L, await CountAsync("switchboard_outbox"));
    }

    [Fact]
    public async Task EnableRetryOnFailure_refuses_a_save_with_queued_messages_and_works_with_an_explicit_transaction_in_the_strategy()
    {
        await StartAsync();
        await using EfAppDb db = new(new DbContextOptionsBuilder<EfAppDb>().UseNpgsql(_dataSource, o => o.EnableRetryOnFailure()).UseSwitchboardOutbox().Options);
        db.Orders.Add(new EfOrder { Id = "o1" });
        await Outbox.PublishAsync(db, new EfOrderCreated("o1"));

        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
        Assert.Contains("EnableRetryOnFailure", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync("\"Orders\""));
        Assert.Equal(0L, await CountAsync("switchboard_outbox"));

        db.DiscardQueuedOutboxMessages();
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using IDbContextTransaction tx = await db.Database.BeginTransactionAsync();
            await Outbox.PublishAsync(db, new EfOrderCreated("o1"));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        });

        await Waiting.UntilAsync(() => _created.Count == 1, Patience, () => "not handled");
        Assert.Equal(1L, await CountAsync("\"Orders\""));
    }

    [Fact]
    public async Task A_handler_saving_in_the_inbox_transaction_rolls_back_with_it_is_retried_and_has_one_effect()
    {
        int attempts = 0;
        bool sameConnection = true;
        ConcurrentQueue<string> shipped = new();
        await StartAsync(b =>
        {
            b.Handle<EfShipOrder>(async (command, context, ct) =>
            {
                int attempt = Interlocked.Increment(ref attempts);
                await using EfAppDb db = NewDb();
                await db.Database.UseMessageTransactionAsync(context, ct);
                sameConnection &= ReferenceEquals(db.Database.GetDbConnection(), context.Transaction!.Connection);
                await context.PublishAsync(new EfOrderShipped(command.OrderId), ct);
                db.Orders.Add(new EfOrder { Id = attempt == 1 ? "taken" : command.OrderId });
                await db.SaveChangesAsync(ct);
            });
            b.Handle<EfOrderShipped>(e => shipped.Enqueue(e.OrderId));
        });
        await using (EfAppDb app = NewDb())
        {
            app.Orders.Add(new EfOrder { Id = "taken" });
            await Outbox.SendAsync(app, new EfShipOrder("o1"));
            await app.SaveChangesAsync();
        }

        await Waiting.UntilAsync(() => !shipped.IsEmpty, Patience, () => $"{Volatile.Read(ref attempts)} attempts, not shipped; rows: " +
            PostgresServer.ScalarAsync<string>($"SELECT string_agg(concat_ws(' ', id, attempts, last_error, lease_until, not_before, dispatched_at), ' | ') FROM \"{_schema}\".switchboard_outbox").Result +
            "; log: " + string.Join(" | ", _log));
        // No row pending: the retried command and its cascade are marked; the failed attempt's cascade left no row.
        await Waiting.UntilAsync(async () => (await Outbox.GetStatisticsAsync()).Pending == 0, Patience, () => "rows are still pending");

        Assert.True(sameConnection);
        Assert.Equal(2, Volatile.Read(ref attempts));
        Assert.Equal(["o1"], shipped);                           // the failed attempt's cascade never left
        Assert.Equal(2L, await CountAsync("\"Orders\""));       // "taken" and "o1": nothing of the failed attempt
        Assert.Equal(2L, await CountAsync("switchboard_outbox"));
    }

    [Fact]
    public async Task A_duplicate_delivery_has_no_second_effect()
    {
        int handled = 0;
        await StartAsync(b => b.Handle<EfShipOrder>(async (command, context, ct) =>
        {
            Interlocked.Increment(ref handled);
            await using EfAppDb db = NewDb();
            await db.Database.UseMessageTransactionAsync(context, ct);
            db.Orders.Add(new EfOrder { Id = command.OrderId });
            await db.SaveChangesAsync(ct);
        }));
        await using (EfAppDb app = NewDb())
        {
            await Outbox.SendAsync(app, new EfShipOrder("o1"), new OutboxMessageOptions { MessageId = "same-id" });
            await Outbox.SendAsync(app, new EfShipOrder("o1"), new OutboxMessageOptions { MessageId = "same-id" });
            await app.SaveChangesAsync();
        }

        await Waiting.UntilAsync(() => Outbox.GetStatisticsAsync().AsTask().Result.Pending == 0, Patience, () => "rows pending");

        Assert.Equal(1, Volatile.Read(ref handled));
        Assert.Equal(1L, await CountAsync("\"Orders\""));
        Assert.Equal(1L, (await Outbox.GetStatisticsAsync()).DuplicatesSkipped);
    }

    private async Task StartAsync(Action<BusBuilder>? configure = null)
    {
        _bus = MessageBus.Create(b =>
        {
            b.Options.Name = "efcore-" + _schema;
            b.UseLoggerFactory(new ListLoggerFactory(_log));
            b.Handle<EfOrderCreated>(e => _created.Enqueue(e.OrderId));
            configure?.Invoke(b);
            b.UsePostgresOutbox(new PostgresOutboxStoreOptions { DataSource = _dataSource, Schema = _schema }, o =>
            {
                o.PollInterval = TimeSpan.FromSeconds(30); // only a wake-up can be this fast
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(10);
                o.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
            });
        });
        await Outbox.Store.EnsureSchemaAsync(); // the tests count rows before anything is written
    }

    private EfAppDb NewDb()
        => new(new DbContextOptionsBuilder<EfAppDb>().UseNpgsql(_dataSource).UseSwitchboardOutbox().Options);

    private async Task<long> CountAsync(string table)
        => await PostgresServer.ScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".{table}");
}

/// <summary>Keeps the bus's log lines, so that a failure message shows what the dispatcher did.</summary>
internal sealed class ListLoggerFactory(ConcurrentQueue<string> log) : ILoggerFactory, ILogger
{
    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.ffffff} {logLevel} {formatter(state, exception)} {exception?.GetType().Name}");
}
