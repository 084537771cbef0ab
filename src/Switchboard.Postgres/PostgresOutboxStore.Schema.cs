using Npgsql;
using Switchboard.Outbox;

namespace Switchboard.Postgres;

public sealed partial class PostgresOutboxStore
{
    /// <inheritdoc />
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await EnsureSchemaOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.DuplicateObject)
        {
            // Another component (an event store, a second store on other tables) created the same schema at the same moment
            // under its own lock: CREATE SCHEMA IF NOT EXISTS can then fail on the catalog. The schema exists now; once more.
            await EnsureSchemaOnceAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask EnsureSchemaOnceAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Several processes starting at once: one runs the DDL, the others wait, then find everything in place.
                using (NpgsqlCommand lockCommand = new("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
                {
                    lockCommand.Parameters.AddWithValue("key", _schemaLock);
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                bool schemaExists;
                using (NpgsqlCommand exists = new("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", connection, transaction))
                {
                    exists.Parameters.AddWithValue("schema", _options.Schema);
                    schemaExists = (bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists: only run it when needed.
                string script = (schemaExists ? string.Empty : $"CREATE SCHEMA IF NOT EXISTS {PostgresOutboxStoreOptions.Quote(_options.Schema)};\n") + GetSchemaScript();
                using (NpgsqlCommand ddl = new(script, connection, transaction))
                {
                    await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (NpgsqlCommand version = new($"SELECT max(version) FROM {_schemaTable}", connection, transaction))
                {
                    object? stored = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    if (stored is int v && v > OutboxSchema.Version)
                    {
                        throw new InvalidOperationException(
                            $"The outbox tables {_outbox} are at schema version {v}, newer than this version of Switchboard.Postgres understands ({OutboxSchema.Version}). Upgrade the package.");
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Returns the DDL that <see cref="EnsureSchemaAsync"/> runs (without the <c>CREATE SCHEMA</c>), for teams that create the
    /// tables with their own migrations: run it once per database, then turn <see cref="OutboxOptions.CreateSchema"/> off. Every
    /// statement is idempotent.
    /// </summary>
    /// <returns>The SQL script.</returns>
    public string GetSchemaScript()
    {
        string prefix = _options.TablePrefix;
        string pending = PostgresOutboxStoreOptions.Quote(prefix + "outbox_pending");
        string pendingKey = PostgresOutboxStoreOptions.Quote(prefix + "outbox_pending_key");
        string dispatched = PostgresOutboxStoreOptions.Quote(prefix + "outbox_dispatched");
        string dead = PostgresOutboxStoreOptions.Quote(prefix + "outbox_dead");
        string processed = PostgresOutboxStoreOptions.Quote(prefix + "inbox_processed");
        return $"""
            CREATE TABLE IF NOT EXISTS {_outbox} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                message_id text NOT NULL,
                destination text NOT NULL,
                partition_key text NULL,
                headers jsonb NOT NULL,
                body bytea NOT NULL,
                created_at timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                last_error text NULL,
                not_before timestamptz NULL,
                lease_owner text NULL,
                lease_until timestamptz NULL,
                dispatched_at timestamptz NULL,
                dead_at timestamptz NULL,
                dead_reason text NULL,
                dead_exception_type text NULL,
                dead_exception_details text NULL
            );
            CREATE INDEX IF NOT EXISTS {pending} ON {_outbox} (id) WHERE dispatched_at IS NULL AND dead_at IS NULL;
            CREATE INDEX IF NOT EXISTS {pendingKey} ON {_outbox} (partition_key, id) WHERE dispatched_at IS NULL AND dead_at IS NULL AND partition_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {dispatched} ON {_outbox} (dispatched_at) WHERE dispatched_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {dead} ON {_outbox} (id) WHERE dead_at IS NOT NULL;
            CREATE TABLE IF NOT EXISTS {_inbox} (
                consumer text NOT NULL,
                message_id text NOT NULL,
                processed_at timestamptz NOT NULL,
                PRIMARY KEY (consumer, message_id)
            );
            CREATE INDEX IF NOT EXISTS {processed} ON {_inbox} (processed_at);
            CREATE TABLE IF NOT EXISTS {_schemaTable} (
                version integer NOT NULL PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO {_schemaTable} (version) VALUES ({OutboxSchema.Version}) ON CONFLICT (version) DO NOTHING;
            """;
    }
}
