namespace Switchboard.Benchmarks.Report;

/// <summary>One target of the performance issue, checked against a run. <see cref="Met"/> is null when a contender is missing.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool? Met);

/// <summary>The targets of issue 3, as ratios within one run.</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetCheck> Check(Results r)
    {
        List<TargetCheck> checks =
        [
            VersusMediator(r, Catalog.Publish1, "Publish to 1 sync handler: ≤ 1.0 × Mediator `IMediator.Publish`, 0 B"),
            VersusMediator(r, Catalog.Send, "Send a command (sync handler): ≤ 1.0 × Mediator `IMediator.Send`, 0 B"),
            VersusMediator(r, Catalog.Request, "Request with a sync result: ≤ 1.0 × Mediator `IMediator.Send`, 0 B"),
            VersusMediator(r, Catalog.Publish3, "Publish to 3 sync handlers: ≤ 1.0 × Mediator `IMediator.Publish`, 0 B"),
            Faster(r, Catalog.MassTransit, "Same cases vs MassTransit mediator: ≥ 20 × faster"),
            Faster(r, Catalog.Wolverine, "Same cases vs Wolverine `InvokeAsync`: ≥ 20 × faster"),
            Throughput(r, Catalog.Stream, "`Stream<T>` delivery, 1 subscriber: ≥ 50 % of raw bounded `Channel<T>` throughput"),
            Throughput(r, Catalog.Background, "Background publish: ≥ 50 % of raw `Channel<T>` throughput"),
        ];
        return checks;
    }

    private static TargetCheck VersusMediator(Results r, Case c, string target)
    {
        Measurement? sb = r.Find(c, Catalog.Switchboard);
        Measurement? mediator = r.Find(c, Catalog.MediatorInterface);
        if (sb is null || mediator is null)
        {
            return new TargetCheck(target, "not measured", null);
        }

        double ratio = sb.MeanNs / mediator.MeanNs;
        bool met = ratio <= 1.0 && sb.AllocatedBytes == 0;
        return new TargetCheck(target, $"{Format.Ratio(ratio)} ({Format.Ns(sb.MeanNs)} vs {Format.Ns(mediator.MeanNs)}), {Format.Bytes(sb.AllocatedBytes)}", met);
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

    private static TargetCheck Throughput(Results r, Case c, string target)
    {
        Measurement? sb = r.Find(c, Catalog.Switchboard);
        Measurement? channel = r.Find(c, Catalog.Channel);
        if (sb is null || channel is null)
        {
            return new TargetCheck(target, "not measured", null);
        }

        double share = channel.MeanNs / sb.MeanNs;
        return new TargetCheck(target, $"{share:P0} ({Format.Rate(sb.MeanNs)} vs {Format.Rate(channel.MeanNs)})", share >= 0.5);
    }
}
