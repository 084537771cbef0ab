using Spectre.Console;
using Switchboard.Cli;

namespace Switchboard.Dashboard.Tests;

/// <summary>The CLI's console width: a terminal keeps its own, a pipe or a file gets <c>COLUMNS</c> or a wide default.</summary>
public sealed class CliConsoleTests
{
    private static IAnsiConsole Console(StringWriter output, int width)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = width;
        return console;
    }

    [Fact]
    public void Redirected_WithoutColumns_IsWide_SoATableOfTenColumnsIsNotFolded()
    {
        StringWriter output = new();
        IAnsiConsole console = CliConsole.Sized(Console(output, 80), outputRedirected: true, _ => null);
        Assert.Equal(CliConsole.RedirectedWidth, console.Profile.Width);

        Table table = new();
        foreach (string column in new[] { "source", "backlog", "in flight", "delayed", "lag", "oldest", "consumers", "dead letters", "health", "last error" })
        {
            table.AddColumn(column);
        }

        table.AddRow("redis/OrderPlaced/billing", "0", "0", "–", "0", "–", "1", "0", "Healthy", "");
        console.Write(table);
        Assert.Contains("redis/OrderPlaced/billing", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("dead letters", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("100", 100)]
    [InlineData("0", CliConsole.RedirectedWidth)]
    [InlineData("wide", CliConsole.RedirectedWidth)]
    public void Redirected_TakesColumns_WhenItIsAWidth(string columns, int expected)
    {
        IAnsiConsole console = CliConsole.Sized(Console(new StringWriter(), 80), outputRedirected: true, name => name == "COLUMNS" ? columns : null);
        Assert.Equal(expected, console.Profile.Width);
    }

    [Fact]
    public void Terminal_KeepsTheWidthItDetected()
    {
        IAnsiConsole console = CliConsole.Sized(Console(new StringWriter(), 77), outputRedirected: false, _ => "300");
        Assert.Equal(77, console.Profile.Width);
    }
}
