using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.EventSourcing.Worker;

namespace Switchboard.EventSourcing.Tests;

/// <summary>Registration through <c>AddSwitchboard(...).AddEventSourcing(...)</c>, on SQLite.</summary>
public sealed class HostingTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sb-es-host-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AddEventSourcing_RegistersTheRepositoryWithTheOutbox_AndRunsTheProjectionsWhileTheHostRuns()
    {
        string connectionString = $"Data Source={Path.Combine(_directory, "app.db")}";
        ConcurrentQueue<string> shipped = new();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddSwitchboard(b => b
                .UseSqliteOutbox(connectionString, o => o.PollInterval = TimeSpan.FromMilliseconds(100))
                .Handle<TestOrderShipped>(e => shipped.Enqueue(e.AggregateId)))
            .AddEventSourcing(es => es
                .AddEvent<TestOrderPlaced>("test.order-placed")
                .AddEvent<TestOrderLineAdded>("test.order-line-added")
                .AddEvent<TestOrderShipped>("test.order-shipped")
                .UseSqlite(connectionString)
                .AddAggregate(id => new TestOrder(id))
                .AddProjection<CountingProjection>(o => o.PollInterval = TimeSpan.FromMilliseconds(100)));

        using IHost host = builder.Build();
        await host.StartAsync();
        try
        {
            AggregateRepository<TestOrder> repository = host.Services.GetRequiredService<AggregateRepository<TestOrder>>();
            Assert.True(repository.PublishesThroughOutbox);
            TestOrder order = repository.CreateNew("hosted");
            order.Place("judy", 7);
            order.Ship();
            await repository.SaveAsync(order);

            CatchUpProjectionRunner runner = host.Services.GetRequiredService<CatchUpProjections>().Get("counting");
            await runner.WaitForPositionAsync(2).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, host.Services.GetRequiredService<CountingProjection>().Count);
            Stopwatch(() => shipped.Contains("hosted"));
            Assert.Throws<KeyNotFoundException>(() => host.Services.GetRequiredService<CatchUpProjections>().Get("missing"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static void Stopwatch(Func<bool> condition)
    {
        System.Diagnostics.Stopwatch elapsed = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(30), "the shipped event is published through the outbox");
            Thread.Sleep(10);
        }
    }

    public sealed class CountingProjection : ICatchUpProjection
    {
        private int _count;

        public string Name => "counting";

        public int Count => Volatile.Read(ref _count);

        public ValueTask HandleAsync(StoredEvent @event, ProjectionContext context, CancellationToken cancellationToken)
        {
            Assert.NotNull(context.Transaction);
            Interlocked.Increment(ref _count);
            return default;
        }

        public ValueTask ResetAsync(ProjectionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref _count, 0);
            return default;
        }
    }
}
