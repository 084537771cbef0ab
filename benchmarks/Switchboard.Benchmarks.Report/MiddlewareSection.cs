using System.Text;

namespace Switchboard.Benchmarks.Report;

/// <summary>
/// The middleware rows of docs/benchmarks.md: each library with one no-op middleware of its own shape beside the same
/// library without it, so that the cost of the middleware itself can be read per case.
/// </summary>
internal static class MiddlewareSection
{
    public static readonly Contender SwitchboardMiddleware = new("Switchboard + 1 incoming middleware", ["SwitchboardMiddlewareBenchmarks"], "#ff9896");
    public static readonly Contender MediatorBehavior = new("Mediator 3 (IMediator) + 1 IPipelineBehavior", ["MediatorBehaviorBenchmarks"], "#9edae5");
    public static readonly Contender MassTransitFilter = new("MassTransit 8.5 mediator + 1 consume filter", ["MassTransitFilterBenchmarks"], "#98df8a");
    public static readonly Contender FloorMiddleware = new("Floor + 1 (context, next) middleware (hand-written)", ["FloorMiddlewareBenchmarks"], "#17becf");

    /// <summary>Gets the contenders measured only for this section.</summary>
    public static readonly Contender[] Contenders = [SwitchboardMiddleware, MediatorBehavior, MassTransitFilter, FloorMiddleware];

    private static readonly (Contender With, Contender Without)[] Pairs =
    [
        (SwitchboardMiddleware, Catalog.Switchboard),
        (MediatorBehavior, Catalog.MediatorInterface),
        (MassTransitFilter, Catalog.MassTransit),
        (FloorMiddleware, Catalog.Floor),
    ];

    public static void Append(StringBuilder md, Results r)
    {
        md.AppendLine("## Middleware: one no-op middleware");
        md.AppendLine();
        md.AppendLine("Each library with one middleware of its own shape that only calls the next step: Switchboard's incoming middleware");
        md.AppendLine("(around every handler), Mediator's `IPipelineBehavior` (requests and commands; Mediator has no behaviour for");
        md.AppendLine("notifications, so it has no publish row) and MassTransit's consume filter. \"middleware cost\" is the row's mean minus");
        md.AppendLine("the same library without middleware in the same run; \"vs Mediator + behaviour\" divides the row's mean by Mediator's");
        md.AppendLine("with its behaviour. A Switchboard bus without middleware keeps the rows of the table above. The floor row is the");
        md.AppendLine("hand-written floor of the table above with the least a `(context, next)` middleware needs: a context leased from the");
        md.AppendLine("thread's statistics slot, the message stored in it, the middleware called through its interface (not a library).");
        md.AppendLine();
        md.AppendLine("| case | contender | mean | allocated | middleware cost | vs Mediator + behaviour |");
        md.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (Case c in new[] { Catalog.Publish1, Catalog.Send, Catalog.Request })
        {
            Measurement? mediator = r.Find(c, MediatorBehavior);
            foreach ((Contender with, Contender without) in Pairs)
            {
                Measurement? m = r.Find(c, with);
                if (m is null)
                {
                    if (!((with == MediatorBehavior || with == FloorMiddleware) && c == Catalog.Publish1))
                    {
                        md.AppendLine($"| {c.Title} | {with.Name} | not measured | | | |");
                    }

                    continue;
                }

                Measurement? baseline = r.Find(c, without);
                string cost = baseline is null ? "–" : Format.Ns(m.MeanNs - baseline.MeanNs);
                string name = with == SwitchboardMiddleware ? $"**{with.Name}**" : with.Name;
                md.AppendLine($"| {c.Title} | {name} | {Format.Ns(m.MeanNs)} | {Format.Bytes(m.AllocatedBytes)} | {cost} | "
                    + $"{(mediator is null ? "–" : Format.Ratio(m.MeanNs / mediator.MeanNs))} |");
            }
        }

        md.AppendLine();
    }
}
