using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Switchboard.EventSourcing.Postgres;

/// <summary>Where a <see cref="PostgresEventStore"/> keeps its tables and how it reaches the database.</summary>
public sealed partial class PostgresEventStoreOptions
{
    /// <summary>Gets or sets the Npgsql connection string; or set <see cref="DataSource"/> instead (for example the outbox store's).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets a data source the caller owns (and disposes); used instead of <see cref="ConnectionString"/>.</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Gets or sets the schema of the tables (created if missing).</summary>
    /// <value>The default value is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>Gets or sets the prefix of the table names <c>{prefix}events</c> and <c>{prefix}checkpoints</c>.</summary>
    /// <value>The default value is <c>switchboard_</c>.</value>
    public string TablePrefix { get; set; } = "switchboard_";

    /// <summary>Gets or sets the clock of the events' <c>recorded_at</c> column.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the options; the message never contains the connection string.</summary>
    internal void Validate()
    {
        if (DataSource is null && string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("PostgresEventStoreOptions needs a ConnectionString or a DataSource.");
        }

        if (Schema is null || Schema.Length is 0 or > 50 || !Identifier().IsMatch(Schema))
        {
            throw new ArgumentException($"PostgresEventStoreOptions.Schema '{Schema}' must be 1 to 50 letters, digits or underscores, not starting with a digit.");
        }

        if (TablePrefix is null || TablePrefix.Length > 40 || (TablePrefix.Length > 0 && !Identifier().IsMatch(TablePrefix)))
        {
            throw new ArgumentException($"PostgresEventStoreOptions.TablePrefix '{TablePrefix}' must be at most 40 letters, digits or underscores, not starting with a digit.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    /// <summary>A stable advisory lock key for a name.</summary>
    internal static long LockKey(string name) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
