using System.Globalization;

namespace Orders;

/// <summary>Prints the scenario: numbered steps, what the program saw, and, indented, what each handler did.</summary>
internal static class Narrator
{
    private static int s_step;

    /// <summary>Starts the next numbered step.</summary>
    public static void Step(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"{++s_step,2}. {title}");
    }

    /// <summary>Something the program observed.</summary>
    public static void Said(string text) => Console.WriteLine($"    {text}");

    /// <summary>Something a handler or subscriber did, tagged with who did it.</summary>
    public static void Handler(string who, string text) => Console.WriteLine($"      [{who}] {text}");

    /// <summary>Cents as an amount: 1999 is 19.99.</summary>
    public static string Money(long cents) => (cents / 100m).ToString("0.00", CultureInfo.InvariantCulture);
}
