using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Switchboard.Outbox;

namespace Switchboard.EntityFrameworkCore.Tests;

public sealed record OrderCreated(string OrderId);

public sealed record ShipOrder(string OrderId);

public sealed record OrderShipped(string OrderId);

public sealed class Order
{
    public string Id { get; set; } = "";

    public long AmountCents { get; set; }
}

public sealed class AppDb(DbContextOptions<AppDb> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();
}

/// <summary>Counts the connections EF Core opens.</summary>
public sealed class OpenCounter : DbConnectionInterceptor
{
    private int _opened;

    public int Opened => Volatile.Read(ref _opened);

    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Interlocked.Increment(ref _opened);
        return result;
    }

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opened);
        return ValueTask.FromResult(result);
    }
}

/// <summary>One SQLite file per test (its own tables), a bus whose outbox is on it, and DbContexts on the same file.</summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"switchboard-efcore-{Guid.NewGuid():N}.db");

    private Harness()
    {
        ConnectionString = $"Data Source={_path};Default Timeout=10;Pooling=False";
        Store = new CountingStore(ConnectionString);
    }

    public string ConnectionString { get; }

    public CountingStore Store { get; }

    public IMessageBus Bus { get; private set; } = null!;

    public IOutbox Outbox => Bus.GetOutbox();

    public ConcurrentQueue<string> Created { get; } = new();

    public static async Task<Harness> StartAsync(Action<BusBuilder>? configure = null, Action<OutboxOptions>? outbox = null)
    {
        Harness harness = new();
        await using (AppDb db = harness.NewDb(outbox: false))
        {
            await db.Database.EnsureCreatedAsync();
        }

        await harness.Store.EnsureSchemaAsync();
        harness.Bus = MessageBus.Create(b =>
        {
            b.Handle<OrderCreated>(e => harness.Created.Enqueue(e.OrderId));
            configure?.Invoke(b);
            b.UseOutbox(harness.Store, o =>
            {
                o.RunDispatcher = false;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(10);
                o.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
                outbox?.Invoke(o);
            });
        });
        return harness;
    }

    public AppDb NewDb(bool outbox = true, params IInterceptor[] interceptors)
    {
        DbContextOptionsBuilder<AppDb> options = new DbContextOptionsBuilder<AppDb>().UseSqlite(ConnectionString);
        if (outbox)
        {
            options.UseSwitchboardOutbox();
        }

        if (interceptors.Length > 0)
        {
            options.AddInterceptors(interceptors);
        }

        return new AppDb(options.Options);
    }

    public ValueTask<long> OutboxRowsAsync() => Store.ScalarAsync("SELECT COUNT(*) FROM switchboard_outbox");

    public ValueTask<long> OrdersAsync() => Store.ScalarAsync("SELECT COUNT(*) FROM Orders");

    public ValueTask<long> InboxRowsAsync() => Store.ScalarAsync("SELECT COUNT(*) FROM switchboard_inbox");

    /// <summary>Dispatches until <paramref name="done"/> holds (rows waiting for a short retry delay included), or fails after 10 s.</summary>
    public async Task ProcessUntilAsync(Func<bool> done)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "The outbox did not dispatch what was expected within 10 s.");
            if (await Outbox.ProcessAsync() == 0)
            {
                await Task.Delay(10);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Bus.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (string file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }
}
