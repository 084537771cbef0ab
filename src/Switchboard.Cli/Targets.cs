using System.Text.Json;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;
using Switchboard.Operations;
using Switchboard.Postgres;
using Switchboard.RabbitMQ;
using Switchboard.Redis;
using Switchboard.Sqlite;

namespace Switchboard.Cli;

/// <summary>
/// Opens the client for the target on the command line. A connection comes from the option's value, else from its
/// environment variable (<c>SWITCHBOARD_REDIS</c>, ...), else from the settings file; it is never printed.
/// </summary>
internal static partial class Targets
{
    private static readonly string[] Names = ["url", "redis", "rabbitmq", "postgres", "sqlite", "sqs", KafkaName];

    public static async Task<IOperationsClient> OpenAsync(CliArguments args, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        string[] chosen = [.. Names.Where(args.Has)];
        if (chosen.Length == 0)
        {
            throw new CliUsageException("Choose a target: --url <dashboard>, --redis, --rabbitmq, --kafka, --postgres, --sqlite or --sqs (see switchboard --help).");
        }

        Settings settings = Settings.Load(args, environment);
        if (chosen is ["url"])
        {
            return new HttpOperationsClient(new Uri(Resolve(args, "url", environment, settings), UriKind.Absolute));
        }

        if (chosen.Contains("url"))
        {
            throw new CliUsageException("--url reads a running app; it cannot be combined with a broker or database.");
        }

        List<OperationsSource> sources = [];
        List<IAsyncDisposable> owned = [];
        try
        {
            string group = args.Get("group") ?? settings.Get("group") ?? "outbox";
            if (args.Has("redis"))
            {
                await AddRedisAsync(Resolve(args, "redis", environment, settings), args.Get("prefix") ?? settings.Get("prefix") ?? "switchboard", sources, owned).ConfigureAwait(false);
            }

            if (args.Has("rabbitmq"))
            {
                string destination = args.Get("destination") ?? throw new CliUsageException("--rabbitmq needs --destination and --group: AMQP cannot list queues, so name the consumer group to read.");
                string rabbitGroup = args.Get("group") ?? throw new CliUsageException("--rabbitmq needs --group (the consumer group: the bus name of the service that consumes).");
                RabbitMqTransport transport = new(new RabbitMqTransportOptions { Uri = new Uri(Resolve(args, "rabbitmq", environment, settings)), CreateTopology = false, ConnectionName = "switchboard-cli" });
                owned.Add(transport);
                sources.Add(OperationsSource.ForTransport(transport, destination, rabbitGroup));
            }

            if (args.Has("kafka"))
            {
                AddKafka(args, Resolve(args, "kafka", environment, settings), settings, sources, owned);
            }

            if (args.Has("postgres"))
            {
                PostgresOutboxStore store = new(new PostgresOutboxStoreOptions
                {
                    ConnectionString = Resolve(args, "postgres", environment, settings),
                    Schema = args.Get("schema") ?? settings.Get("schema") ?? "public",
                    TablePrefix = args.Get("table-prefix") ?? settings.Get("tablePrefix") ?? "switchboard_",
                });
                owned.Add(store);
                sources.Add(OperationsBusExtensions.CreateOutboxSource(store, group));
            }

            if (args.Has("sqlite"))
            {
                string value = Resolve(args, "sqlite", environment, settings);
                string connection = value.Contains('=', StringComparison.Ordinal) ? value : new SqliteConnectionStringBuilder { DataSource = value, Mode = SqliteOpenMode.ReadWrite }.ToString();
                SqliteOutboxStore store = new(new SqliteOutboxStoreOptions { ConnectionString = connection, TablePrefix = args.Get("table-prefix") ?? settings.Get("tablePrefix") ?? "switchboard_" });
                owned.Add(store);
                sources.Add(OperationsBusExtensions.CreateOutboxSource(store, group));
            }

            if (args.Has("sqs"))
            {
                await AddSqsAsync(args, environment, settings, sources, owned, cancellationToken).ConfigureAwait(false);
            }

            return new DirectClient(new SwitchboardOperations(sources), owned);
        }
        catch
        {
            foreach (IAsyncDisposable resource in owned)
            {
                await resource.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Finds every consumer group Redis holds under the prefix: groups of the destination streams, and groups that have a
    /// dead-letter stream (<c>{prefix}:{destination}:{group}:dlq</c>).
    /// </summary>
    private static async Task AddRedisAsync(string connectionString, string prefix, List<OperationsSource> sources, List<IAsyncDisposable> owned)
    {
        ConfigurationOptions configuration = ConfigurationOptions.Parse(connectionString);
        configuration.AbortOnConnectFail = true;
        configuration.ConnectTimeout = 5000;
        ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        owned.Add(connection);
        RedisTransport transport = new(connection, new RedisTransportOptions { StreamPrefix = prefix });
        owned.Add(transport);
        IDatabase db = connection.GetDatabase();
        SortedSet<(string Destination, string Group)> found = [];
        foreach (IServer server in connection.GetServers())
        {
            await foreach (RedisKey key in server.KeysAsync(db.Database, pattern: RedisPattern(prefix) + ":*").ConfigureAwait(false))
            {
                string name = key.ToString()[(prefix.Length + 1)..];
                if (name.EndsWith(":dlq", StringComparison.Ordinal))
                {
                    int split = name.LastIndexOf(':', name.Length - 5);
                    if (split > 0)
                    {
                        found.Add((name[..split], name[(split + 1)..^4]));
                    }
                }
                else if (!name.EndsWith(":replay", StringComparison.Ordinal) && await db.KeyTypeAsync(key).ConfigureAwait(false) == RedisType.Stream)
                {
                    foreach (StreamGroupInfo group in await db.StreamGroupInfoAsync(key).ConfigureAwait(false))
                    {
                        found.Add((name, group.Name));
                    }
                }
            }
        }

        foreach ((string destination, string group) in found)
        {
            sources.Add(OperationsSource.ForTransport(transport, destination, group));
        }
    }

    private static string RedisPattern(string prefix)
        => string.Concat(prefix.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? "\\" + c : c.ToString()));

    private static string Resolve(CliArguments args, string name, Func<string, string?> environment, Settings settings)
    {
        string variable = "SWITCHBOARD_" + name.ToUpperInvariant();
        return args.Get(name) is { Length: > 0 } value ? value
            : environment(variable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : settings.Get(name) is { Length: > 0 } fromSettings ? fromSettings
            : throw new CliUsageException($"--{name} has no value: give one, set {variable}, or put \"{name}\" in the settings file (--settings, SWITCHBOARD_SETTINGS or ./switchboard.json).");
    }

    /// <summary>A JSON file of strings: <c>{ "redis": "...", "prefix": "...", "rabbitmq": "...", "postgres": "...", "sqlite": "...", "sqs": "...", "url": "..." }</c>.</summary>
    private sealed class Settings(Dictionary<string, string> values)
    {
        public string? Get(string name) => values.TryGetValue(name, out string? value) ? value : null;

        public static Settings Load(CliArguments args, Func<string, string?> environment)
        {
            string? path = args.Get("settings") ?? environment("SWITCHBOARD_SETTINGS");
            if (path is null)
            {
                path = "switchboard.json";
                if (!File.Exists(path))
                {
                    return new Settings([]);
                }
            }

            if (!File.Exists(path))
            {
                throw new CliUsageException($"The settings file '{path}' does not exist.");
            }

            try
            {
                return new Settings(JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? []);
            }
            catch (JsonException)
            {
                // The message could quote a line of the file, which holds connection strings.
                throw new CliUsageException($"The settings file '{path}' is not a JSON object of strings.");
            }
        }
    }
}
