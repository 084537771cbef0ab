namespace Switchboard.Benchmarks.Report;

/// <summary>One target of the performance issue, checked against a run. <see cref="Met"/> is null when a contender is missing.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool? Met);

/// <summary>The targets of issues 3 and 14, as ratios within one run.</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetCheck> Check(Results r)
    {
        List<TargetCheck> checks =
        [
            Versus(r, Catalog.Publish1, Catalog.Switchboard, Catalog.MediatorInterface, 1.0, "Publish to 1 sync handler: ≤ 1.0 × Mediator `IMediator.Publish`, 0 B"),
            Versus(r, Catalog.Send, Catalog.Switchboard, Catalog.MediatorInterface, 1.0, "Send a command (sync handler): ≤ 1.0 × Mediator `IMediator.Send`, 0 B"),
            Versus(r, Catalog.Request, Catalog.Switchboard, Catalog.MediatorInterface, 1.0, "Request with a sync result: ≤ 1.0 × Mediator `IMediator.Send`, 0 B"),
            Versus(r, Catalog.Publish3, Catalog.Switchboard, Catalog.MediatorInterface, 1.0, "Publish to 3 sync handlers: ≤ 1.0 × Mediator `IMediator.Publish`, 0 B"),
            Versus(r, Catalog.Publish1, Catalog.SwitchboardNoStatistics, Catalog.MediatorInterface, 1.0, "Same, publish to 1, with `EnableStatistics = false` (no counts, as the peers)"),
            Versus(r, Catalog.Send, Catalog.SwitchboardNoStatistics, Catalog.MediatorInterface, 1.0, "Same, send, with `EnableStatistics = false`"),
            Versus(r, Catalog.Request, Catalog.SwitchboardNoStatistics, Catalog.MediatorInterface, 1.0, "Same, request, with `EnableStatistics = false`"),
            Versus(r, Catalog.Publish3, Catalog.SwitchboardNoStatistics, Catalog.MediatorInterface, 1.0, "Same, publish to 3, with `EnableStatistics = false`"),
            Versus(r, Catalog.Publish1, Catalog.SwitchboardGenerated, Catalog.MediatorConcrete, 1.2, "Generated class handlers, publish to 1: ≤ 1.2 × Mediator's concrete class, 0 B"),
            Versus(r, Catalog.Send, Catalog.SwitchboardGenerated, Catalog.MediatorConcrete, 1.2, "Generated class handlers, send: ≤ 1.2 × Mediator's concrete class, 0 B"),
            Versus(r, Catalog.Request, Catalog.SwitchboardGenerated, Catalog.MediatorConcrete, 1.2, "Generated class handlers, request: ≤ 1.2 × Mediator's concrete class, 0 B"),
            Versus(r, Catalog.Publish3, Catalog.SwitchboardGenerated, Catalog.MediatorConcrete, 1.2, "Generated class handlers, publish to 3: ≤ 1.2 × Mediator's concrete class, 0 B"),
            AsyncVersus(r, "Publish to an async handler: ≤ 1.2 × Mediator `IMediator.Publish` in time, ≤ Mediator + 32 B allocated"),
            Faster(r, Catalog.MassTransit, "Same cases vs MassTransit mediator: ≥ 20 × faster"),
            Faster(r, Catalog.Wolverine, "Same cases vs Wolverine `InvokeAsync`: ≥ 20 × faster"),
            // Issue 14: "Background publish ≥ 50 % of the raw channel; Stream<T> stays ≥ 100 %".
            Throughput(r, Catalog.Stream, "`Stream<T>` delivery, 1 subscriber: ≥ 100 % of raw bounded `Channel<T>` throughput", 1.0),
            Throughput(r, Catalog.Background, "Background publish: ≥ 50 % of raw `Channel<T>` throughput", 0.5),
            FloorVersus(r, "Reference, not a target: the hand-written floor (typed call + exact statistics) ≤ 1.2 × Mediator's concrete class, every case"),
            FloorMiddleware(r, "Reference, not a target: the floor's `(context, next)` middleware cost ≤ Mediator's behaviour cost, send and request"),
        ];
        return checks;
    }

    /// <summary>
    /// <paramref name="who"/> against <paramref name="peer"/> in one case: met when the ratio of the means and the ratio in
    /// every pair of processes (the k-th process of one with the k-th of the other) are at most <paramref name="limit"/>
    /// and nothing is allocated, so one lucky process cannot carry a target.
    /// </summary>
    private static TargetCheck Versus(Results r, Case c, Contender who, Contender peer, double limit, string target)
    {
        Measurement? sb = r.Find(c, who);
        Measurement? other = r.Find(c, peer);
        if (sb is null || other is null)
        {
            return new TargetCheck(target, "not measured", null);
        }

        double ratio = sb.MeanNs / other.MeanNs;
        int pairs = Math.Min(sb.ProcessMeansNs.Count, other.ProcessMeansNs.Count);
        double[] perProcess = [.. Enumerable.Range(0, pairs).Select(k => sb.ProcessMeansNs[k] / other.ProcessMeansNs[k])];
        bool met = ratio <= limit && perProcess.All(x => x <= limit) && sb.AllocatedBytes == 0;
        string spread = pairs > 1
            ? $"; per pair of processes {Format.Ratio(perProcess.Min())}–{Format.Ratio(perProcess.Max())} ({pairs} pairs)"
            : "; 1 process each";
        return new TargetCheck(target, $"{Format.Ratio(ratio)} ({Format.Ns(sb.MeanNs)} vs {Format.Ns(other.MeanNs)}){spread}, {Format.Bytes(sb.AllocatedBytes)}", met);
    }

    /// <summary>The asynchronous case of issue 14: time within 1.2 × Mediator's (overall and in every pair of processes), allocation within 32 B of it.</summary>
    private static TargetCheck AsyncVersus(Results r, string target)
    {
        Measurement? sb = r.Find(Catalog.AsyncHandler, Catalog.Switchboard);
        Measurement? other = r.Find(Catalog.AsyncHandler, Catalog.MediatorInterface);
        if (sb is null || other is null)
        {
            return new TargetCheck(target, "not measured", null);
        }

        double ratio = sb.MeanNs / other.MeanNs;
        int pairs = Math.Min(sb.ProcessMeansNs.Count, other.ProcessMeansNs.Count);
        double[] perProcess = [.. Enumerable.Range(0, pairs).Select(k => sb.ProcessMeansNs[k] / other.ProcessMeansNs[k])];
        bool met = ratio <= 1.2 && perProcess.All(x => x <= 1.2) && sb.AllocatedBytes <= other.AllocatedBytes + 32;
        string spread = pairs > 1 ? $"; per pair of processes {Format.Ratio(perProcess.Min())}–{Format.Ratio(perProcess.Max())} ({pairs} pairs)" : "; 1 process each";
        return new TargetCheck(target, $"{Format.Ratio(ratio)} ({Format.Ns(sb.MeanNs)} vs {Format.Ns(other.MeanNs)}){spread}, {Format.Bytes(sb.AllocatedBytes)} vs {Format.Bytes(other.AllocatedBytes)}", met);
    }

    private static TargetCheck Faster(Results r, Contender peer, string target)
    {
        List<string> parts = [];
        bool met = true;
        foreach (Case c in new[] { Catalog.Publish1, Catalog.Publish3, Catalog.Send, Catalog.Request })
        {
            Measurement? sb = r.Find(c, Catalog.Switchboard);
            Measurement? other = r.Find(c, peer);
            if (sb is null || other is null)
            {
                return new TargetCheck(target, "not measured", null);
            }

            double times = other.MeanNs / sb.MeanNs;
            met &= times >= 20;
            parts.Add($"{c.Title.ToLowerInvariant()} {times:0.#} ×");
        }

        return new TargetCheck(target, string.Join("; ", parts), met);
    }

    private static TargetCheck Throughput(Results r, Case c, string target, double minimumShare)
    {
        Measurement? sb = r.Find(c, Catalog.Switchboard);
        Measurement? channel = r.Find(c, Catalog.Channel);
        if (sb is null || channel is null)
        {
            return new TargetCheck(target, "not measured", null);
        }

        double share = channel.MeanNs / sb.MeanNs;
        return new TargetCheck(target, $"{share:P0} ({Format.Rate(sb.MeanNs)} vs {Format.Rate(channel.MeanNs)})", share >= minimumShare);
    }

    /// <summary>
    /// Where issue 14's generated-path target lies against the least a bus with exact statistics can do (the hand-written
    /// floor): the worst ratio of the means and of the pairs of processes over the four dispatch cases.
    /// </summary>
    private static TargetCheck FloorVersus(Results r, string target)
    {
        List<string> parts = [];
        bool met = true;
        foreach (Case c in new[] { Catalog.Publish1, Catalog.Send, Catalog.Request, Catalog.Publish3 })
        {
            TargetCheck one = Versus(r, c, Catalog.Floor, Catalog.MediatorConcrete, 1.2, c.Title);
            if (one.Met is null)
            {
                return new TargetCheck(target, "not measured", null);
            }

            met &= one.Met.Value;
            parts.Add($"{c.Title.ToLowerInvariant()} {one.Measured[..one.Measured.IndexOf(" (", StringComparison.Ordinal)]}");
        }

        return new TargetCheck(target, string.Join("; ", parts), met);
    }

    /// <summary>Issue 17's middleware target against the floor: the floor's middleware cost beside Mediator's behaviour's, per case.</summary>
    private static TargetCheck FloorMiddleware(Results r, string target)
    {
        List<string> parts = [];
        bool met = true;
        foreach (Case c in new[] { Catalog.Send, Catalog.Request })
        {
            Measurement? floorWith = r.Find(c, MiddlewareSection.FloorMiddleware);
            Measurement? floor = r.Find(c, Catalog.Floor);
            Measurement? mediatorWith = r.Find(c, MiddlewareSection.MediatorBehavior);
            Measurement? mediator = r.Find(c, Catalog.MediatorInterface);
            if (floorWith is null || floor is null || mediatorWith is null || mediator is null)
            {
                return new TargetCheck(target, "not measured", null);
            }

            double floorCost = floorWith.MeanNs - floor.MeanNs;
            double mediatorCost = mediatorWith.MeanNs - mediator.MeanNs;
            met &= floorCost <= mediatorCost;
            parts.Add($"{c.Title.ToLowerInvariant()} {Signed(floorCost)} vs {Signed(mediatorCost)}");
        }

        return new TargetCheck(target, string.Join("; ", parts), met);
    }

    private static string Signed(double ns) => ns >= 0 ? $"+{Format.Ns(ns)}" : $"−{Format.Ns(-ns)}";
}
