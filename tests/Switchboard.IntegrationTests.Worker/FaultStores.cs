using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Switchboard.Outbox;
using Switchboard.Postgres;
using Switchboard.Sqlite;

namespace Switchboard.IntegrationTests.Worker;

/// <summary>
/// The outbox stores of the fault tests, built the same way in the test process and in this child process, so that both
/// work on the same tables: on SQLite a table prefix in a database file, on PostgreSQL a schema of the test's own.
/// </summary>
public static class FaultStores
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>
    /// Creates a store on the tables named by <paramref name="space"/> (a table prefix on SQLite, a schema on PostgreSQL);
    /// <paramref name="sqliteBusyTimeout"/> shortens how long SQLite waits for another connection's lock.
    /// </summary>
    public static IOutboxStore Create(string kind, string connectionString, string space, TimeSpan? sqliteBusyTimeout = null) => kind switch
    {
        Sqlite => new SqliteOutboxStore(new SqliteOutboxStoreOptions
        {
            ConnectionString = connectionString,
            TablePrefix = space,
            BusyTimeout = sqliteBusyTimeout ?? TimeSpan.FromSeconds(30),
        }),
        Postgres => new PostgresOutboxStore(new PostgresOutboxStoreOptions { ConnectionString = connectionString, Schema = space }),
        _ => throw new ArgumentException($"unknown store '{kind}'", nameof(kind)),
    };

    /// <summary>The application's own table of business rows (one text column <c>id</c>), next to the outbox's tables.</summary>
    public static string BusinessTable(string kind, string space) => kind == Postgres ? $"{space}.business" : $"{space}business";

    /// <summary>Opens a connection of the application's own (not the store's) to the same database.</summary>
    public static async Task<DbConnection> OpenAsync(string kind, string connectionString)
    {
        DbConnection connection = kind == Postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Creates the business table (and on PostgreSQL its schema) if missing.</summary>
    public static async Task CreateBusinessTableAsync(DbConnection connection, string kind, string space)
    {
        if (kind == Postgres)
        {
            await ExecuteAsync(connection, null, $"CREATE SCHEMA IF NOT EXISTS {space}");
        }

        await ExecuteAsync(connection, null, $"CREATE TABLE IF NOT EXISTS {BusinessTable(kind, space)} (id VARCHAR(200) PRIMARY KEY)");
    }

    /// <summary>Inserts a business row in <paramref name="transaction"/>.</summary>
    public static Task InsertBusinessRowAsync(DbTransaction transaction, string kind, string space, string id)
        => ExecuteAsync(transaction.Connection!, transaction, $"INSERT INTO {BusinessTable(kind, space)} (id) VALUES (@id)", id);

    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, string? id = null)
    {
        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        if (id is not null)
        {
            DbParameter parameter = command.CreateParameter();
            parameter.ParameterName = "id";
            parameter.Value = id;
            command.Parameters.Add(parameter);
        }

        return await command.ExecuteNonQueryAsync();
    }
}

/// <summary>The event the fault tests write to the outbox; its wire name is shared by the test process and the child.</summary>
public sealed record FaultEvent(string Id)
{
    public const string WireName = "outbox.fault-event";
}
