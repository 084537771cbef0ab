using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Switchboard.EventSourcing;
using Switchboard.EventSourcing.Sqlite;

namespace Switchboard.Benchmarks.EventSourcing;

/// <summary>LoadAsync of an aggregate whose stream has 1,000 events: read, deserialize, apply.</summary>
[MemoryDiagnoser]
public class LoadBenchmark
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sb-es-load-{Environment.ProcessId}.db");
    private IMessageBus _bus = null!;
    private SqliteEventStore _sqlite = null!;
    private InMemoryEventStore _memory = null!;
    private AggregateRepository<Counter> _fromSqlite = null!;
    private AggregateRepository<Counter> _fromMemory = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        File.Delete(_file);
        _bus = MessageBus.Create(_ => { });
        _sqlite = new SqliteEventStore($"Data Source={_file}", Counter.Types());
        _memory = new InMemoryEventStore(Counter.Types());
        _fromSqlite = new AggregateRepository<Counter>(_sqlite, _bus, id => new Counter(id));
        _fromMemory = new AggregateRepository<Counter>(_memory, _bus, id => new Counter(id));
        Counter counter = new("c-1000");
        for (int i = 0; i < 1_000; i++)
        {
            counter.Increment(1);
        }

        await _sqlite.AppendAsync(counter.StreamId, 0, counter.UncommittedEvents);
        await _memory.AppendAsync(counter.StreamId, 0, counter.UncommittedEvents);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _sqlite.DisposeAsync();
        await _bus.DisposeAsync();
        SqliteConnection.ClearAllPools();
        File.Delete(_file);
    }

    [Benchmark(Baseline = true, Description = "LoadAsync, 1,000 events, SQLite")]
    public async Task<long> LoadFromSqlite() => (await _fromSqlite.LoadAsync("c-1000")).Value;

    [Benchmark(Description = "LoadAsync, 1,000 events, in memory")]
    public async Task<long> LoadFromMemory() => (await _fromMemory.LoadAsync("c-1000")).Value;
}
