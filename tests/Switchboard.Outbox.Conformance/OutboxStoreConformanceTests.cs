using System.Data.Common;
using System.Text;
using Switchboard.Transport;

namespace Switchboard.Outbox.Conformance;

/// <summary>
/// The suite every outbox store passes (SQLite, PostgreSQL, ...). A store's test project derives one class and gives a
/// factory of fresh, isolated stores (tables of their own) and the schema version the database holds. The tests speak to
/// the store directly (<c>.Store.cs</c>: claims with explicit times, leases, releases, dead rows, cleanup, the inbox) and
/// through a real bus (<c>.Bus.cs</c>: commit, rollback, wake-up, order per key, retries, dead letters, the inbox, cascades).
/// </summary>
/// <remarks>
/// "Business data" is a table of one column (<c>id</c>) written in the same transaction as the outbox rows, on a connection
/// from <see cref="OpenBusinessConnectionAsync"/> (by default the store's own <see cref="IOutboxStore.OpenConnectionAsync"/>).
/// </remarks>
public abstract partial class OutboxStoreConformanceTests : IAsyncLifetime
{
    private readonly List<IMessageBus> _buses = [];
    private readonly List<IOutboxStore> _stores = [];
    private readonly HashSet<string> _businessTables = new(StringComparer.Ordinal);

    /// <summary>Gets a short id of this test, for names that must not collide with other tests'.</summary>
    protected string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// Returns a new store on tables no other test uses (a table prefix, a schema or a database of its own). The schema need
    /// not exist yet. The suite disposes it after the buses that used it.
    /// </summary>
    protected abstract ValueTask<IOutboxStore> CreateStoreAsync();

    /// <summary>Reads the schema version the store recorded in the database (its schema version table).</summary>
    /// <param name="store">A store from <see cref="CreateStoreAsync"/> whose schema was ensured.</param>
    protected abstract ValueTask<int> ReadSchemaVersionAsync(IOutboxStore store);

    /// <summary>Opens a connection for the application's own data, in the store's database. By default the store's own.</summary>
    /// <param name="store">The store.</param>
    protected virtual ValueTask<DbConnection> OpenBusinessConnectionAsync(IOutboxStore store) => store.OpenConnectionAsync();

    /// <summary>Gets the DDL of a business table with a single text primary key <c>id</c>.</summary>
    /// <param name="table">The table's name.</param>
    protected virtual string BusinessTableDdl(string table) => $"CREATE TABLE IF NOT EXISTS {table} (id VARCHAR(200) PRIMARY KEY)";

    /// <summary>Gets how long a test waits for work that should take milliseconds.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromSeconds(15);

    /// <summary>Gets how soon a commit must wake a dispatcher whose poll interval is 30 seconds.</summary>
    protected virtual TimeSpan WakePatience => TimeSpan.FromSeconds(1);

    /// <summary>Gets the poll interval of the buses the suite creates (except in the wake-up test).</summary>
    protected virtual TimeSpan PollInterval => TimeSpan.FromMilliseconds(100);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (IMessageBus bus in _buses)
        {
            await bus.DisposeAsync();
        }

        if (_stores.Count > 0 && _businessTables.Count > 0)
        {
            try
            {
                await using DbConnection connection = await OpenBusinessConnectionAsync(_stores[0]);
                foreach (string table in _businessTables)
                {
                    await ExecuteAsync(connection, null, $"DROP TABLE IF EXISTS {table}");
                }
            }
            catch (DbException)
            {
                // Best effort: a store may be gone with its database.
            }
        }

        foreach (IOutboxStore store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    /// <summary>Creates a store (see <see cref="CreateStoreAsync"/>) and ensures its schema.</summary>
    protected async Task<IOutboxStore> StoreAsync(bool ensureSchema = true)
    {
        IOutboxStore store = await CreateStoreAsync();
        _stores.Add(store);
        if (ensureSchema)
        {
            await store.EnsureSchemaAsync();
        }

        return store;
    }

    /// <summary>Creates a bus with an outbox on <paramref name="store"/>, fast polling and quick retries.</summary>
    protected IMessageBus Bus(IOutboxStore store, Action<BusBuilder> configure, Action<OutboxOptions>? outbox = null, string? name = null)
    {
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name ?? $"oc-{Run}";
            b.UseOutbox(store, o =>
            {
                o.PollInterval = PollInterval;
                o.Retry.MaxAttempts = 3;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(20);
                o.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
                o.Retry.Jitter = false;
                outbox?.Invoke(o);
            });
            configure(b);
        });
        _buses.Add(bus);
        return bus;
    }

    /// <summary>Creates the business table of this test (once) and returns its name.</summary>
    protected async Task<string> BusinessTableAsync(IOutboxStore store)
    {
        string table = $"oc_orders_{Run}";
        if (_businessTables.Add(table))
        {
            await using DbConnection connection = await OpenBusinessConnectionAsync(store);
            await ExecuteAsync(connection, null, BusinessTableDdl(table));
        }

        return table;
    }

    /// <summary>Runs <paramref name="work"/> in a business transaction (writing the business row <paramref name="businessId"/> first), then commits or rolls back.</summary>
    protected async Task InTransactionAsync(IOutboxStore store, Func<DbTransaction, Task> work, string? businessId = null, bool commit = true)
    {
        string? table = businessId is null ? null : await BusinessTableAsync(store);
        await using DbConnection connection = await OpenBusinessConnectionAsync(store);
        await using DbTransaction transaction = await connection.BeginTransactionAsync();
        if (table is not null)
        {
            await ExecuteAsync(connection, transaction, $"INSERT INTO {table} (id) VALUES (@id)", ("@id", businessId!));
        }

        await work(transaction);
        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }
    }

    /// <summary>Publishes through the bus's outbox in a committed (or rolled back) business transaction.</summary>
    protected Task PublishAsync<T>(IMessageBus bus, T message, string? businessId = null, OutboxMessageOptions? options = null, bool commit = true)
    {
        IOutbox outbox = bus.GetOutbox();
        return InTransactionAsync(outbox.Store, async tx => await outbox.PublishAsync(tx, message, options), businessId, commit);
    }

    /// <summary>Adds raw rows straight through the store in a committed transaction.</summary>
    protected Task AddRowsAsync(IOutboxStore store, params TransportMessage[] messages)
        => InTransactionAsync(store, async tx => await store.AddAsync(tx, messages));

    /// <summary>Whether the business row exists (read on a fresh connection, so only committed data counts).</summary>
    protected async Task<bool> BusinessRowExistsAsync(IOutboxStore store, string id)
    {
        string table = await BusinessTableAsync(store);
        await using DbConnection connection = await OpenBusinessConnectionAsync(store);
        await using DbCommand command = Command(connection, null, $"SELECT COUNT(*) FROM {table} WHERE id = @id", ("@id", id));
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>A raw message as a transport would carry it.</summary>
    protected static TransportMessage Raw(string destination, string? type, string body, string? partitionKey = null, string? messageId = null)
    {
        Dictionary<string, string> headers = new(StringComparer.Ordinal)
        {
            [MessageHeaders.MessageId] = messageId ?? Guid.NewGuid().ToString("N"),
            [MessageHeaders.ContentType] = "application/json",
        };
        if (type is not null)
        {
            headers[MessageHeaders.MessageType] = type;
        }

        return new TransportMessage { Destination = destination, Headers = headers, Body = Encoding.UTF8.GetBytes(body), PartitionKey = partitionKey };
    }

    protected static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = Command(connection, transaction, sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            DbParameter parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
