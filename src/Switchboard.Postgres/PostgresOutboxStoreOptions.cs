using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Switchboard.Postgres;

/// <summary>Where a <see cref="PostgresOutboxStore"/> keeps its tables and how it reaches the database.</summary>
public sealed partial class PostgresOutboxStoreOptions
{
    /// <summary>
    /// Gets or sets the Npgsql connection string. The store then creates (and disposes) its own <see cref="NpgsqlDataSource"/>.
    /// Set either this or <see cref="DataSource"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets a data source the caller owns (and disposes after the store). Set either this or <see cref="ConnectionString"/>.
    /// </summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Gets or sets the schema of the tables; created if missing. Lower-case letters, digits and underscores.</summary>
    /// <value>The default value is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>
    /// Gets or sets the prefix of the table names: <c>{prefix}outbox</c>, <c>{prefix}inbox</c> and <c>{prefix}schema</c>.
    /// Lower-case letters, digits and underscores, at most 40 characters.
    /// </summary>
    /// <value>The default value is <c>switchboard_</c>.</value>
    public string TablePrefix { get; set; } = "switchboard_";

    /// <summary>
    /// Gets or sets the channel of the <c>NOTIFY</c> sent with every write and <c>LISTEN</c>ed to by dispatchers: every store on
    /// the same tables must use the same one. At most 63 characters.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <c>{schema}_{prefix}outbox</c> (hashed when longer than 63 characters).</value>
    public string? NotifyChannel { get; set; }

    /// <summary>
    /// Gets or sets how long the listening connection stays silent before the store checks it with a query, so that a connection
    /// dropped without a word (a firewall, a failover) is noticed and replaced.
    /// </summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan ListenerKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets the clock that stamps written rows (<c>created_at</c>) and times the listener's reconnects; give it the bus's in tests that move time.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets the notify channel in effect: <see cref="NotifyChannel"/> or the default derived from the schema and prefix.</summary>
    /// <returns>The channel name.</returns>
    public string GetNotifyChannel()
    {
        if (NotifyChannel is { Length: > 0 } channel)
        {
            return channel;
        }

        string derived = $"{Schema}_{TablePrefix}outbox";
        if (derived.Length <= 63)
        {
            return derived;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(derived));
        return "switchboard_outbox_" + Convert.ToHexStringLower(hash)[..24];
    }

    /// <summary>Checks the options; the message never contains the connection string.</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (DataSource is null == string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("PostgresOutboxStoreOptions needs exactly one of ConnectionString and DataSource.");
        }

        if (Schema is null || Schema.Length is 0 or > 63 || !Identifier().IsMatch(Schema))
        {
            throw new ArgumentException($"PostgresOutboxStoreOptions.Schema '{Schema}' must be 1 to 63 lower-case letters, digits or underscores, starting with a letter or an underscore.");
        }

        if (TablePrefix is null || TablePrefix.Length > 40 || (TablePrefix.Length > 0 && !Prefix().IsMatch(TablePrefix)))
        {
            throw new ArgumentException($"PostgresOutboxStoreOptions.TablePrefix '{TablePrefix}' must be at most 40 lower-case letters, digits or underscores.");
        }

        string channel = GetNotifyChannel();
        if (channel.Length > 63 || channel.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("PostgresOutboxStoreOptions.NotifyChannel must be at most 63 characters.");
        }

        if (ListenerKeepAlive <= TimeSpan.Zero)
        {
            throw new ArgumentException("PostgresOutboxStoreOptions.ListenerKeepAlive must be positive.");
        }
    }

    /// <summary>A stable 64-bit key for <c>pg_advisory_xact_lock</c>, the same in every process.</summary>
    internal static long LockKey(string name)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
        return BinaryPrimitives.ReadInt64LittleEndian(hash);
    }

    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";



    [GeneratedRegex("^[a-z_][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();

    [GeneratedRegex("^[a-z0-9_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Prefix();
}
