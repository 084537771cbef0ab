using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;
using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>The <c>switchboard</c> commands. Exit codes are documented in <see cref="ExitCodes"/> and docs/operations.md.</summary>
internal static class CliApp
{
    public const string Help = """
        switchboard — dead letters and backlog of Switchboard apps

        Usage:
          switchboard status                      every source: backlog, in flight, delayed, lag, consumers, dead letters
          switchboard dlq list [filters]          dead letters (all sources with dead letters, or --source)
          switchboard dlq show --source S --id ID one dead letter: headers, body, exception
          switchboard dlq replay --source S (--id ID ... | --all [filters] --yes)
          switchboard dlq delete --source S (--id ID ... | --all [filters]) --yes

        Target (one of; a connection left out comes from SWITCHBOARD_<NAME> or the settings file, and is never printed):
          --url [http://host/switchboard]         a running app's dashboard API
          --redis [connection] [--prefix P]       Redis streams (default prefix: switchboard)
          --rabbitmq [amqp-uri] --destination D --group G
          --kafka [bootstrap-servers] --destination D --group G [--topic-prefix P]
          --postgres [connection] [--schema S] [--table-prefix T] [--group G]   the PostgreSQL outbox
          --sqlite [path-or-connection] [--table-prefix T] [--group G]          the SQLite outbox
          --sqs [service-url] [--region R] [--queue-prefix P] [--fifo]          Amazon SQS (credentials: the AWS SDK's chain)
          --settings FILE                         JSON with "url", "redis", "prefix", "rabbitmq", "kafka", "topicPrefix", "postgres", "sqlite", "sqs"

        Filters: --type T  --exception E  --text X  --from TIME  --to TIME  --page-size N  --cursor C
        Output:  --json    machine-readable output on stdout

        Exit codes: 0 done; 1 error (connection, server); 2 usage; 3 source or dead letter not found;
                    4 bulk operation incomplete (cancelled, or some dead letters already gone); 5 refused by the app
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> arguments, IAnsiConsole console, TextWriter output, TextWriter error, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        CliArguments args;
        try
        {
            args = CliArguments.Parse(arguments);
            if (args.Has("help") || args.Words.Count == 0 || args.Words[0] is "help" or "-h")
            {
                await output.WriteLineAsync(Help).ConfigureAwait(false);
                return args.Words.Count == 0 && !args.Has("help") ? ExitCodes.Usage : ExitCodes.Ok;
            }

            string command = string.Join(' ', args.Words.Take(2));
            Func<IOperationsClient, Task<int>> run = args.Words switch
            {
                ["status"] => client => StatusAsync(client, args, console, output, cancellationToken),
                ["dlq", "list"] => client => ListAsync(client, args, console, output, cancellationToken),
                ["dlq", "show"] => client => ShowAsync(client, args, console, output, cancellationToken),
                ["dlq", "replay"] => client => SettleAsync(client, args, replay: true, console, output, cancellationToken),
                ["dlq", "delete"] => client => SettleAsync(client, args, replay: false, console, output, cancellationToken),
                _ => throw new CliUsageException($"Unknown command '{string.Join(' ', args.Words)}'. Commands: status, dlq list, dlq show, dlq replay, dlq delete."),
            };
            IOperationsClient client = await Targets.OpenAsync(args, environment, cancellationToken).ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                return await run(client).ConfigureAwait(false);
            }
        }
        catch (CliUsageException ex)
        {
            await error.WriteLineAsync($"switchboard: {Redaction.Redact(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (CliNotFoundException ex)
        {
            await error.WriteLineAsync($"switchboard: {Redaction.Redact(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.NotFound;
        }
        catch (CliRefusedException ex)
        {
            await error.WriteLineAsync($"switchboard: refused: {Redaction.Redact(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Refused;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("switchboard: cancelled").ConfigureAwait(false);
            return ExitCodes.Incomplete;
        }
        catch (Exception ex)
        {
            // Type and message only, credentials removed: drivers' messages can name hosts, never print the connection string.
            await error.WriteLineAsync($"switchboard: {ex.GetType().Name}: {Redaction.Redact(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Error;
        }
    }

    private static async Task<int> StatusAsync(IOperationsClient client, CliArguments args, IAnsiConsole console, TextWriter output, CancellationToken cancellationToken)
    {
        IReadOnlyList<DestinationStatus> status = await client.StatusAsync(cancellationToken).ConfigureAwait(false);
        if (args.Has("json"))
        {
            await WriteJsonAsync(output, status).ConfigureAwait(false);
        }
        else
        {
            Table table = NewTable("source", "backlog", "in flight", "delayed", "lag", "oldest", "consumers", "dead letters", "health", "last error");
            foreach (DestinationStatus s in status)
            {
                table.AddRow(Cells(
                    s.Source, Number(s.Info.Backlog), Number(s.Info.InFlight), Number(s.Info.Delayed), Number(s.Info.Lag),
                    s.Info.OldestAge is { } age ? age.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture) : "–",
                    Number(s.Info.Consumers), Number(s.DeadLetters), s.Health.ToString(), s.Error ?? s.Info.LastError ?? string.Empty));
            }

            console.Write(table);
        }

        return status.Any(s => s.Health == DestinationHealth.Unreachable) ? ExitCodes.Error : ExitCodes.Ok;
    }

    private static async Task<int> ListAsync(IOperationsClient client, CliArguments args, IAnsiConsole console, TextWriter output, CancellationToken cancellationToken)
    {
        DeadLetterQuery query = Query(args) with { PageSize = args.GetInt("page-size") ?? 50, Cursor = args.Get("cursor") };
        IEnumerable<string> sources = args.Get("source") is { } one
            ? [one]
            : (await client.StatusAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.DeadLetters > 0).Select(s => s.Source);
        List<ViewPage> pages = [];
        foreach (string source in sources)
        {
            pages.Add(await client.ListAsync(source, query, cancellationToken).ConfigureAwait(false));
        }

        if (args.Has("json"))
        {
            await WriteJsonAsync(output, pages).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (pages.Count == 0)
        {
            console.WriteLine("No dead letters.");
        }

        foreach (ViewPage page in pages)
        {
            console.Write(new Rule(Markup.Escape($"{page.Source}: {page.Total} dead letter(s)")) { Justification = Justify.Left });
            Table table = NewTable("id", "dead-lettered", "type", "message id", "exception", "attempts", "reason");
            foreach (DeadLetterView m in page.Items)
            {
                table.AddRow(Cells(m.Id, m.DeadLetteredAt.ToString("u", CultureInfo.InvariantCulture), m.MessageType ?? "–", m.MessageId, m.ExceptionType ?? "–", m.Attempts.ToString(CultureInfo.InvariantCulture), m.Reason));
            }

            console.Write(table);
            if (page.NextCursor is { } next)
            {
                console.WriteLine($"More: --source {page.Source} --cursor {next}");
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(IOperationsClient client, CliArguments args, IAnsiConsole console, TextWriter output, CancellationToken cancellationToken)
    {
        string source = args.Get("source") ?? throw new CliUsageException("dlq show needs --source (switchboard status lists them) and --id.");
        string id = args.Get("id") ?? throw new CliUsageException("dlq show needs --id (switchboard dlq list shows them).");
        DeadLetterView m = await client.ShowAsync(source, id, cancellationToken).ConfigureAwait(false);
        if (args.Has("json"))
        {
            await WriteJsonAsync(output, m).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        Table props = NewTable("", "");
        props.HideHeaders();
        foreach ((string name, string? value) in new (string, string?)[]
        {
            ("source", m.Source), ("id", m.Id), ("message id", m.MessageId), ("type", m.MessageType), ("destination", m.Destination),
            ("consumer group", m.ConsumerGroup), ("correlation id", m.CorrelationId), ("partition key", m.PartitionKey),
            ("sent", m.SentAt?.ToString("u", CultureInfo.InvariantCulture)), ("dead-lettered", m.DeadLetteredAt.ToString("u", CultureInfo.InvariantCulture)),
            ("attempts", m.Attempts.ToString(CultureInfo.InvariantCulture)), ("reason", m.Reason),
        })
        {
            props.AddRow(Cells(name, value ?? "–"));
        }

        console.Write(props);
        Table headers = NewTable("header", "value");
        foreach ((string name, string value) in m.Headers ?? new Dictionary<string, string>())
        {
            headers.AddRow(Cells(name, value));
        }

        console.Write(headers);
        console.Write(new Panel(new Text(m.Body ?? string.Empty)) { Header = new PanelHeader($"body ({m.BodyFormat}, {m.BodyBytes} bytes)") });
        if (m.ExceptionDetails is { } details)
        {
            console.Write(new Panel(new Text(details)) { Header = new PanelHeader(Markup.Escape(m.ExceptionType ?? "exception")) });
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> SettleAsync(IOperationsClient client, CliArguments args, bool replay, IAnsiConsole console, TextWriter output, CancellationToken cancellationToken)
    {
        string verb = replay ? "replay" : "delete";
        string source = args.Get("source") ?? throw new CliUsageException($"dlq {verb} needs --source (switchboard status lists them).");
        IReadOnlyList<string> ids = args.GetAll("id");
        bool all = args.Has("all");
        if (ids.Count == 0 == !all)
        {
            throw new CliUsageException($"dlq {verb} needs either --id (one or more) or --all (every dead letter that passes the filters).");
        }

        if ((all || !replay) && !args.Has("yes"))
        {
            throw new CliUsageException($"dlq {verb} {(all ? "--all" : "--id")} changes the queue for good: add --yes to confirm.");
        }

        DeadLetterQuery filter = Query(args);
        DeadLetterBulkResult result;
        if (args.Has("json") || !console.Profile.Capabilities.Interactive)
        {
            result = await client.SettleAsync(source, all ? null : ids, filter, replay, null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            result = await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    ProgressTask task = context.AddTask(replay ? "Replaying" : "Deleting", autoStart: true, maxValue: 1);
                    DeadLetterBulkResult done = await client.SettleAsync(source, all ? null : ids, filter, replay, p =>
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Done;
                    }, cancellationToken).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                    return done;
                }).ConfigureAwait(false);
        }

        if (args.Has("json"))
        {
            await WriteJsonAsync(output, result).ConfigureAwait(false);
        }
        else
        {
            console.WriteLine($"{(replay ? "Replayed" : "Deleted")} {result.Succeeded} of {result.Selected}{(result.Missing > 0 ? $" ({result.Missing} already gone)" : string.Empty)}{(result.Cancelled ? " — cancelled; run it again to finish" : string.Empty)}.");
        }

        return result.Cancelled || result.Missing > 0 ? ExitCodes.Incomplete : ExitCodes.Ok;
    }

    private static DeadLetterQuery Query(CliArguments args) => new()
    {
        MessageType = args.Get("type"),
        ExceptionType = args.Get("exception"),
        Text = args.Get("text"),
        From = args.GetTime("from"),
        To = args.GetTime("to"),
    };

    private static Table NewTable(params string[] columns)
    {
        Table table = new() { Border = TableBorder.Rounded };
        foreach (string column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)));
        }

        return table;
    }

    private static IRenderable[] Cells(params string[] values) => [.. values.Select(v => (IRenderable)new Text(v))];

    private static string Number(long? value) => value?.ToString("N0", CultureInfo.InvariantCulture) ?? "–";

    private static async Task WriteJsonAsync<T>(TextWriter output, T value)
        => await output.WriteLineAsync(JsonSerializer.Serialize(value, CliJson.Options)).ConfigureAwait(false);
}

/// <summary>What <c>switchboard</c> returns to scripts.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int NotFound = 3;
    public const int Incomplete = 4;
    public const int Refused = 5;
}
