using Npgsql;

namespace Switchboard.IntegrationTests.Postgres;

/// <summary>The PostgreSQL that scripts/servers.sh started. Without it the tests fail with this message; they never skip.</summary>
public static class PostgresServer
{
    public static string ConnectionString
        => Environment.GetEnvironmentVariable("SWITCHBOARD_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "SWITCHBOARD_POSTGRES is not set, so there is no PostgreSQL to test against. Run scripts/test.sh (it starts PostgreSQL on " +
                "127.0.0.1:5433 through scripts/servers.sh and sets it), or start one and set SWITCHBOARD_POSTGRES to an Npgsql connection string.");

    /// <summary>A schema name of its own for one test: its tables never meet another test's rows.</summary>
    public static string NewSchema() => "sbtest_" + Guid.NewGuid().ToString("N")[..12];

    public static async Task ExecuteAsync(string sql)
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string sql)
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Drops a test's schema and everything in it.</summary>
    public static async Task DropSchemaAsync(string schema)
    {
        try
        {
            await ExecuteAsync($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        }
        catch (NpgsqlException)
        {
            // Best effort.
        }
    }
}
