using Spectre.Console;

namespace Switchboard.Cli;

/// <summary>The console the CLI writes its tables to.</summary>
internal static class CliConsole
{
    /// <summary>The width used when the output goes to a pipe or a file and <c>COLUMNS</c> does not say one.</summary>
    public const int RedirectedWidth = 240;

    /// <summary>
    /// Returns <paramref name="console"/>, sized for where its output goes: a terminal keeps the width Spectre.Console
    /// detects; a pipe or a file (a script, <c>| less</c>, a CI log) has no width to fit, and Spectre's fallback of 80
    /// columns would fold a table of ten columns into cells of five characters, so the width is <c>COLUMNS</c> when set,
    /// else <see cref="RedirectedWidth"/>.
    /// </summary>
    public static IAnsiConsole Sized(IAnsiConsole console, bool outputRedirected, Func<string, string?> environment)
    {
        if (outputRedirected)
        {
            console.Profile.Width = int.TryParse(environment("COLUMNS"), out int columns) && columns > 0 ? columns : RedirectedWidth;
        }

        return console;
    }
}
