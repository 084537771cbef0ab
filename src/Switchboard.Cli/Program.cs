using Spectre.Console;
using Switchboard.Cli;

using CancellationTokenSource cancel = new();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops a bulk operation after the current message (what was done stays done); a second one kills.
    e.Cancel = !cancel.IsCancellationRequested;
    cancel.Cancel();
};

IAnsiConsole console = CliConsole.Sized(AnsiConsole.Console, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
return await CliApp.RunAsync(args, console, Console.Out, Console.Error, Environment.GetEnvironmentVariable, cancel.Token).ConfigureAwait(false);
