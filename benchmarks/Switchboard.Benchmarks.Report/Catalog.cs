namespace Switchboard.Benchmarks.Report;

/// <summary>A library (or the floor) as the report names it, and the benchmark classes that measure it.</summary>
internal sealed record Contender(string Name, string[] Types, string ColorHex);

/// <summary>A scenario: the benchmark method name every contender uses for it, and how the report shows it.</summary>
internal sealed record Case(string Method, string Title, bool Throughput);

/// <summary>
/// The names the benchmark project uses (its classes are contenders, its method names are cases). Kept here in one
/// place so a renamed benchmark shows up as "missing" in the report instead of silently vanishing.
/// </summary>
internal static class Catalog
{
    public static readonly Contender Switchboard = new("Switchboard", ["SwitchboardBenchmarks", "SwitchboardThroughputBenchmarks"], "#d62728");
    public static readonly Contender SwitchboardNoStatistics = new("Switchboard, statistics off", ["SwitchboardNoStatisticsBenchmarks"], "#f7b6d2");
    public static readonly Contender SwitchboardGenerated = new("Switchboard, generated class handlers", ["SwitchboardGeneratedBenchmarks"], "#ff9896");
    public static readonly Contender MediatorInterface = new("Mediator 3 (IMediator)", ["MediatorInterfaceBenchmarks"], "#1f77b4");
    public static readonly Contender MediatorConcrete = new("Mediator 3 (concrete class)", ["MediatorConcreteBenchmarks"], "#aec7e8");
    public static readonly Contender MassTransit = new("MassTransit 8.5 mediator", ["MassTransitBenchmarks"], "#2ca02c");
    public static readonly Contender Wolverine = new("Wolverine InvokeAsync", ["WolverineBenchmarks"], "#9467bd");
    public static readonly Contender WolverinePublish = new("Wolverine PublishAsync (local queue)", ["WolverineBackgroundBenchmarks"], "#c5b0d5");
    public static readonly Contender Channel = new("Raw bounded Channel<T>", ["ChannelBenchmarks"], "#7f7f7f");
    public static readonly Contender Direct = new("Direct call", ["DirectBenchmarks"], "#bcbd22");
    public static readonly Contender Floor = new("Floor: typed call + exact statistics (hand-written)", ["FloorBenchmarks"], "#17becf");
    public static readonly Contender FloorNoStatistics = new("Floor without statistics (hand-written)", ["FloorNoStatisticsBenchmarks"], "#8c564b");

    public static readonly Contender[] Contenders =
        [Switchboard, SwitchboardNoStatistics, SwitchboardGenerated, MediatorInterface, MediatorConcrete, MassTransit, Wolverine, WolverinePublish, Channel, Direct, Floor, FloorNoStatistics];

    public static readonly Case Publish1 = new("Publish1", "Publish, 1 sync handler", false);
    public static readonly Case Publish3 = new("Publish3", "Publish, 3 sync handlers", false);
    public static readonly Case Send = new("Send", "Send command", false);
    public static readonly Case Request = new("Request", "Request, sync result", false);
    public static readonly Case AsyncHandler = new("AsyncHandler", "Publish, async handler", false);
    public static readonly Case Stream = new("Stream", "Stream, 1 subscriber", true);
    public static readonly Case Background = new("Background", "Background publish", true);

    public static readonly Case[] Cases = [Publish1, Publish3, Send, Request, AsyncHandler, Stream, Background];

    /// <summary>
    /// Who is expected in each case: the dispatch cases compare the libraries (and, for the synchronous cases, the
    /// hand-written floors of <c>FloorBenchmarks</c>), the throughput cases the channel.
    /// </summary>
    public static Contender[] ExpectedIn(Case c) => c.Throughput
        ? c == Stream ? [Switchboard, Channel] : [Switchboard, WolverinePublish, Channel]
        : c == AsyncHandler
            ? [Switchboard, SwitchboardNoStatistics, SwitchboardGenerated, MediatorInterface, MediatorConcrete, MassTransit, Wolverine, Direct]
            : [Switchboard, SwitchboardNoStatistics, SwitchboardGenerated, MediatorInterface, MediatorConcrete, MassTransit, Wolverine, Direct, Floor, FloorNoStatistics];

    public static Contender? ContenderOf(string type)
        => Contenders.FirstOrDefault(c => c.Types.Contains(type)) ?? MiddlewareSection.Contenders.FirstOrDefault(c => c.Types.Contains(type));

    public static Case? CaseOf(string method) => Cases.FirstOrDefault(c => c.Method == method);
}
