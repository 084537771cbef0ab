namespace Switchboard.Benchmarks;

/// <summary>
/// The case names shared by every contender: a benchmark class is a contender, and its methods are named
/// after these cases, so the report can line them up side by side.
/// </summary>
public static class Cases
{
    public const string Publish1 = "Publish, 1 handler";
    public const string Publish3 = "Publish, 3 handlers";
    public const string Send = "Send command";
    public const string Request = "Request with result";
    public const string AsyncHandler = "Publish, async handler";
    public const string Stream = "Stream, 1 subscriber";
    public const string Background = "Background publish";
}
