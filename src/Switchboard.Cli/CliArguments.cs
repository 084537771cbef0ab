namespace Switchboard.Cli;

/// <summary>The command line: command words, then <c>--name value</c>, <c>--name=value</c> or <c>--flag</c>.</summary>
internal sealed class CliArguments
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "json", "yes", "all", "help", "fifo" };

    // Target options whose value may be left out: it then comes from the environment variable or the settings file.
    private static readonly HashSet<string> OptionalValues = new(StringComparer.Ordinal) { "url", "redis", "rabbitmq", "postgres", "sqlite", "sqs", "kafka" };

    private readonly Dictionary<string, List<string?>> _options = new(StringComparer.Ordinal);

    public List<string> Words { get; } = [];

    public static CliArguments Parse(IReadOnlyList<string> args)
    {
        CliArguments parsed = new();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                parsed.Words.Add(arg);
                continue;
            }

            string name = arg[2..];
            string? value = null;
            int equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (!Flags.Contains(name) && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else if (!Flags.Contains(name) && !OptionalValues.Contains(name))
            {
                throw new CliUsageException($"--{name} needs a value.");
            }

            if (!parsed._options.TryGetValue(name, out List<string?>? values))
            {
                parsed._options[name] = values = [];
            }

            values.Add(value);
        }

        return parsed;
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out List<string?>? values) ? values[^1] : null;

    public IReadOnlyList<string> GetAll(string name)
        => _options.TryGetValue(name, out List<string?>? values) ? [.. values.Where(v => v is not null)!] : [];

    public int? GetInt(string name)
    {
        string? text = Get(name);
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new CliUsageException($"--{name} must be a positive number.");
    }

    public DateTimeOffset? GetTime(string name)
    {
        string? text = Get(name);
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset value)
            ? value
            : throw new CliUsageException($"--{name} must be a date and time, for example 2026-03-01T12:00:00Z.");
    }

    public IEnumerable<string> Names => _options.Keys;
}

/// <summary>The command line is wrong: exit code 2 with this message.</summary>
internal sealed class CliUsageException(string message) : Exception(message);

/// <summary>A source or dead letter that does not exist: exit code 3.</summary>
internal sealed class CliNotFoundException(string message) : Exception(message);

/// <summary>The app refused (read-only dashboard, authorization): exit code 5.</summary>
internal sealed class CliRefusedException(string message) : Exception(message);
