using Microsoft.Data.Sqlite;
using Switchboard.Outbox;

namespace Switchboard.Sqlite;

public sealed partial class SqliteOutboxStore
{
    /// <summary>
    /// Creates the tables and indexes if they are missing and records <see cref="OutboxSchema.Version"/>; safe to call any
    /// number of times, from several processes (one <c>BEGIN IMMEDIATE</c> transaction). The bus calls it when it starts unless
    /// <see cref="OutboxOptions.CreateSchema"/> is off; call it yourself (a deployment step) when it is. The DDL of version 1,
    /// with the default prefix:
    /// <code>
    /// CREATE TABLE switchboard_schema (version INTEGER NOT NULL);
    /// CREATE TABLE switchboard_outbox (
    ///     id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, destination TEXT NOT NULL, partition_key TEXT,
    ///     headers TEXT NOT NULL,           -- a JSON object of strings (OutboxRows.SerializeHeaders)
    ///     body BLOB NOT NULL, created_at INTEGER NOT NULL,   -- Unix milliseconds, as every time column
    ///     attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, not_before INTEGER,
    ///     lease_owner TEXT, lease_until INTEGER, dispatched_at INTEGER,
    ///     dead_at INTEGER, dead_reason TEXT, dead_exception_type TEXT, dead_exception_details TEXT);
    /// CREATE INDEX switchboard_outbox_pending ON switchboard_outbox (id) WHERE dispatched_at IS NULL AND dead_at IS NULL;
    /// CREATE INDEX switchboard_outbox_pending_key ON switchboard_outbox (partition_key, id) WHERE dispatched_at IS NULL AND dead_at IS NULL;
    /// CREATE INDEX switchboard_outbox_dispatched ON switchboard_outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;
    /// CREATE INDEX switchboard_outbox_dead ON switchboard_outbox (id) WHERE dead_at IS NOT NULL;
    /// CREATE TABLE switchboard_inbox (consumer TEXT NOT NULL, message_id TEXT NOT NULL, processed_at INTEGER NOT NULL,
    ///     PRIMARY KEY (consumer, message_id));
    /// CREATE INDEX switchboard_inbox_processed ON switchboard_inbox (processed_at);
    /// </code>
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the schema is at <see cref="OutboxSchema.Version"/>.</returns>
    /// <exception cref="InvalidOperationException">The database holds a newer schema than this version of the library knows.</exception>
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // A read first, without the write lock: the bus ensures the schema before writes, and the caller of a write may be
            // holding the lock in its own transaction already (SQLite has one writer): only a missing schema must wait for it.
            if (await ReadVersionAsync(connection, null, cancellationToken).ConfigureAwait(false) == OutboxSchema.Version)
            {
                return;
            }

            SqliteTransaction transaction = BeginImmediate(connection);
            await using (transaction.ConfigureAwait(false))
            {
                int? version = await ReadVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                if (version > OutboxSchema.Version)
                {
                    throw new InvalidOperationException(
                        $"The outbox tables '{_options.TablePrefix}*' are at schema version {version}; this version of Switchboard.Sqlite knows version {OutboxSchema.Version}. Upgrade the package.");
                }

                if (version == OutboxSchema.Version)
                {
                    return;
                }

                // Version 1 is the first: every statement is idempotent, so a half-created schema (no version row) is completed.
                using (SqliteCommand ddl = connection.CreateCommand())
                {
                    ddl.Transaction = transaction;
                    ddl.CommandText = Sql.Schema;
                    await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (SqliteCommand record = connection.CreateCommand())
                {
                    record.Transaction = transaction;
                    record.CommandText = $"DELETE FROM {Sql.SchemaTable}; INSERT INTO {Sql.SchemaTable} (version) VALUES (@version);";
                    record.Parameters.AddWithValue("@version", OutboxSchema.Version);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Returns the SQL that creates this store's tables and indexes and records <see cref="OutboxSchema.Version"/>, for teams
    /// that run migrations (and set <see cref="OutboxOptions.CreateSchema"/> off). Every statement is idempotent.
    /// </summary>
    /// <returns>The script.</returns>
    public string GetSchemaScript()
        => Sql.Schema + Environment.NewLine + $"INSERT INTO {Sql.SchemaTable} (version) SELECT {OutboxSchema.Version} WHERE NOT EXISTS (SELECT 1 FROM {Sql.SchemaTable});" + Environment.NewLine;

    /// <summary>Reads the schema version recorded in the database, or <see langword="null"/> when the tables do not exist.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The version.</returns>
    public async ValueTask<int?> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<int?> ReadVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = @name";
        command.Parameters.AddWithValue("@name", Sql.SchemaTable);
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        command.Parameters.Clear();
        command.CommandText = $"SELECT MAX(version) FROM {Sql.SchemaTable}";
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? (int)version : null;
    }

    /// <summary>Every statement of the store, with the table names filled in once.</summary>
    private sealed class Statements
    {
        private const string Pending = "dispatched_at IS NULL AND dead_at IS NULL";
        private const string RowColumns = "id, destination, partition_key, headers, body, created_at, attempts, last_error";

        public Statements(string prefix)
        {
            string outbox = prefix + "outbox";
            string inbox = prefix + "inbox";
            SchemaTable = prefix + "schema";
            Schema = $"""
                CREATE TABLE IF NOT EXISTS {SchemaTable} (version INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS {outbox} (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    message_id TEXT NOT NULL,
                    destination TEXT NOT NULL,
                    partition_key TEXT,
                    headers TEXT NOT NULL,
                    body BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    not_before INTEGER,
                    lease_owner TEXT,
                    lease_until INTEGER,
                    dispatched_at INTEGER,
                    dead_at INTEGER,
                    dead_reason TEXT,
                    dead_exception_type TEXT,
                    dead_exception_details TEXT);
                CREATE INDEX IF NOT EXISTS {outbox}_pending ON {outbox} (id) WHERE {Pending};
                CREATE INDEX IF NOT EXISTS {outbox}_pending_key ON {outbox} (partition_key, id) WHERE {Pending};
                CREATE INDEX IF NOT EXISTS {outbox}_dispatched ON {outbox} (dispatched_at) WHERE dispatched_at IS NOT NULL;
                CREATE INDEX IF NOT EXISTS {outbox}_dead ON {outbox} (id) WHERE dead_at IS NOT NULL;
                CREATE TABLE IF NOT EXISTS {inbox} (
                    consumer TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    processed_at INTEGER NOT NULL,
                    PRIMARY KEY (consumer, message_id));
                CREATE INDEX IF NOT EXISTS {inbox}_processed ON {inbox} (processed_at);
                """;
            Insert = $"INSERT INTO {outbox} (message_id, destination, partition_key, headers, body, created_at) VALUES (@message_id, @destination, @partition_key, @headers, @body, @created_at)";

            // A row is due when pending, not leased, and its retry time came; it waits while an earlier pending row of its key
            // is leased or waiting for a retry (order per key). The subquery runs on the (partition_key, id) pending index.
            Claim = $"""
                UPDATE {outbox} SET lease_owner = @owner, lease_until = @until
                WHERE id IN (
                    SELECT o.id FROM {outbox} o
                    WHERE o.dispatched_at IS NULL AND o.dead_at IS NULL
                      AND (o.lease_until IS NULL OR o.lease_until < @now)
                      AND (o.not_before IS NULL OR o.not_before <= @now)
                      AND (o.partition_key IS NULL OR NOT EXISTS (
                          SELECT 1 FROM {outbox} e
                          WHERE e.partition_key = o.partition_key AND e.id < o.id
                            AND e.dispatched_at IS NULL AND e.dead_at IS NULL
                            AND (e.lease_until >= @now OR e.not_before > @now)))
                    ORDER BY o.id
                    LIMIT @limit)
                RETURNING {RowColumns}
                """;
            MarkDispatched = $"UPDATE {outbox} SET dispatched_at = @at, lease_owner = NULL, lease_until = NULL WHERE id IN (SELECT value FROM json_each(@ids))";
            Release = $"""
                UPDATE {outbox}
                SET attempts = attempts + (CASE WHEN @failure IS NULL THEN 0 ELSE 1 END),
                    last_error = COALESCE(@failure, last_error),
                    not_before = @not_before, lease_owner = NULL, lease_until = NULL
                WHERE id = @id AND {Pending}
                """;
            MarkDead = $"""
                UPDATE {outbox}
                SET dead_at = @at, dead_reason = @reason, dead_exception_type = @type, dead_exception_details = @details,
                    attempts = @attempts, lease_owner = NULL, lease_until = NULL
                WHERE id = @id AND {Pending}
                """;
            ListDead = $"SELECT {RowColumns}, dead_at, dead_reason, dead_exception_type, dead_exception_details FROM {outbox} WHERE dead_at IS NOT NULL ORDER BY id LIMIT @limit";
            ReviveDead = $"""
                UPDATE {outbox}
                SET dead_at = NULL, dead_reason = NULL, dead_exception_type = NULL, dead_exception_details = NULL,
                    attempts = 0, last_error = NULL, not_before = NULL, lease_owner = NULL, lease_until = NULL
                WHERE dead_at IS NOT NULL AND (@id IS NULL OR id = @id)
                """;
            DeleteDead = $"DELETE FROM {outbox} WHERE id = @id AND dead_at IS NOT NULL";
            DeleteDispatched = $"DELETE FROM {outbox} WHERE id IN (SELECT id FROM {outbox} WHERE dispatched_at IS NOT NULL AND dispatched_at < @before LIMIT @limit)";
            DeleteProcessed = $"DELETE FROM {inbox} WHERE rowid IN (SELECT rowid FROM {inbox} WHERE processed_at < @before LIMIT @limit)";
            Count = $"""
                SELECT (SELECT COUNT(*) FROM {outbox} WHERE {Pending}),
                       (SELECT COUNT(*) FROM {outbox} WHERE dead_at IS NOT NULL),
                       (SELECT created_at FROM {outbox} WHERE {Pending} ORDER BY id LIMIT 1)
                """;
            RecordProcessed = $"INSERT OR IGNORE INTO {inbox} (consumer, message_id, processed_at) VALUES (@consumer, @message_id, @processed_at)";
        }

        public string SchemaTable { get; }

        public string Schema { get; }

        public string Insert { get; }

        public string Claim { get; }

        public string MarkDispatched { get; }

        public string Release { get; }

        public string MarkDead { get; }

        public string ListDead { get; }

        public string ReviveDead { get; }

        public string DeleteDead { get; }

        public string DeleteDispatched { get; }

        public string DeleteProcessed { get; }

        public string Count { get; }

        public string RecordProcessed { get; }
    }
}
