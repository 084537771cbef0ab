using ScottPlot;

namespace Switchboard.Benchmarks.Report;

/// <summary>
/// The chart: time per dispatch operation on a log scale (peers differ by orders of magnitude), and throughput of
/// the stream and background cases beside it.
/// </summary>
internal static class Chart
{
    private const int Width = 1600;
    private const int Height = 900;

    public static void Save(Results r, string path)
    {
        Plot dispatch = DispatchPlot(r);
        Plot throughput = ThroughputPlot(r);

        // The Multiplot starts with the plot it is given; the second one is added beside it.
        Multiplot figure = new(dispatch);
        figure.Subplots.Add(throughput);
        figure.Layout = new SideBySide(0.72f);
        figure.SavePng(path, Width, Height);
    }

    private static Plot DispatchPlot(Results r)
    {
        Plot plot = NewPlot();
        Case[] cases = Catalog.Cases.Where(c => !c.Throughput).ToArray();
        Contender[] contenders = Catalog.ExpectedIn(cases[0]);
        double[] means = r.Measurements.Where(m => !m.Case.Throughput).Select(m => m.MeanNs).Where(v => v > 0).ToArray();
        double floor = Math.Floor(Math.Log10(Math.Max(means.DefaultIfEmpty(1).Min() * 0.5, 1e-3)));

        // Horizontal bars, first case on top, contenders in catalog order inside each group, so every bar has room for its label.
        double groupHeight = 0.86;
        double barHeight = groupHeight / contenders.Length;
        for (int i = 0; i < contenders.Length; i++)
        {
            Contender who = contenders[i];
            List<Bar> bars = [];
            for (int c = 0; c < cases.Length; c++)
            {
                Measurement? m = r.Find(cases[c], who);
                if (m is null || m.MeanNs <= 0)
                {
                    continue;
                }

                bars.Add(new Bar
                {
                    Position = -c + groupHeight / 2 - barHeight * (i + 0.5),
                    Value = Math.Log10(m.MeanNs),
                    ValueBase = floor,
                    Size = barHeight * 0.9,
                    FillColor = Color.FromHex(who.ColorHex),
                    LineWidth = 0,
                    Label = Short(m.MeanNs),
                    Orientation = Orientation.Horizontal,
                    // On a log axis a value below 1 ns is negative; keep its label outside the bar's end all the same.
                    LabelInvertWhenValueBelow = double.NegativeInfinity,
                });
            }

            if (bars.Count == 0)
            {
                continue;
            }

            var plottable = plot.Add.Bars(bars);
            plottable.Horizontal = true;
            plottable.LegendText = who.Name;
            plottable.ValueLabelStyle.FontSize = 12;
        }

        plot.Axes.Left.SetTicks(Enumerable.Range(0, cases.Length).Select(i => (double)-i).ToArray(), cases.Select(c => c.Title).ToArray());
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Left.TickLabelStyle.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.Bold = true;

        ScottPlot.TickGenerators.NumericAutomatic ticks = new()
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = x => Short(Math.Pow(10, x)),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Bottom.Label.Text = "time per operation, log scale (shorter is faster)";
        plot.Axes.Bottom.Label.FontSize = 14;
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.18);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.06);
        plot.Grid.YAxisStyle.IsVisible = false;

        // Room on the right for the longest bar's label, stopping just short of a decade so no tick label is cut in half.
        double right = Math.Ceiling(Math.Log10(Math.Max(means.DefaultIfEmpty(10).Max(), 10)) + 0.5) - 0.02;
        plot.Axes.SetLimits(floor, right, -cases.Length + 0.5, 0.5);
        plot.Title("In-process dispatch: one call awaited to completion, handlers included", size: 17);
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.Orientation = Orientation.Horizontal;
        plot.Legend.FontSize = 13;
        return plot;
    }

    private static Plot ThroughputPlot(Results r)
    {
        Plot plot = NewPlot();
        Case[] cases = Catalog.Cases.Where(c => c.Throughput).ToArray();
        Contender[] contenders = [Catalog.Switchboard, Catalog.WolverinePublish, Catalog.Channel];
        double groupWidth = 0.8;
        double barWidth = groupWidth / contenders.Length;
        double max = 1;
        for (int i = 0; i < contenders.Length; i++)
        {
            Contender who = contenders[i];
            List<Bar> bars = [];
            for (int c = 0; c < cases.Length; c++)
            {
                Measurement? m = r.Find(cases[c], who);
                if (m is null || m.MeanNs <= 0)
                {
                    continue;
                }

                // Center the bars of the contenders present in this case, so a case with two leaves no gap.
                Contender[] present = contenders.Where(x => r.Find(cases[c], x) is { MeanNs: > 0 }).ToArray();
                int slot = Array.IndexOf(present, who);
                double millions = 1e3 / m.MeanNs;
                max = Math.Max(max, millions);
                bars.Add(new Bar
                {
                    Position = c - barWidth * present.Length / 2 + barWidth * (slot + 0.5),
                    Value = millions,
                    Size = barWidth * 0.92,
                    FillColor = Color.FromHex(who.ColorHex),
                    LineWidth = 0,
                    Label = millions.ToString(millions < 10 ? "0.0" : "0", System.Globalization.CultureInfo.InvariantCulture),
                });
            }

            if (bars.Count == 0)
            {
                continue;
            }

            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = who.Name;
            plottable.ValueLabelStyle.FontSize = 13;
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, cases.Length).Select(i => (double)i).ToArray(), cases.Select(c => c.Title).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { TickDensity = 0.5 };
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.Label.Text = "million messages per second (taller is faster)";
        plot.Axes.Left.Label.FontSize = 14;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.Axes.SetLimits(-0.5, cases.Length - 0.5, 0, max * 1.45);
        plot.Title("Streams and background publish", size: 17);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Legend.FontSize = 12;
        return plot;
    }

    private static Plot NewPlot()
    {
        Plot plot = new();
        // A sans-serif face reads better at small sizes; DejaVu Sans ships with most Linux images (ScottPlot falls back to its default when a face is missing).
        plot.Font.Set("DejaVu Sans");
        return plot;
    }

    private static string Short(double ns) => ns switch
    {
        < 1 => ns.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " ns",
        < 10 => ns.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " ns",
        < 1000 => ns.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + " ns",
        < 1_000_000 => (ns / 1000).ToString(ns < 10_000 ? "0.#" : "0", System.Globalization.CultureInfo.InvariantCulture) + " µs",
        _ => (ns / 1_000_000).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " ms",
    };

    /// <summary>Two panels side by side, the first taking <c>share</c> of the width.</summary>
    private sealed class SideBySide(float share) : IMultiplotLayout
    {
        public PixelRect[] GetSubplotRectangles(SubplotCollection subplots, PixelRect figureRect)
        {
            float split = figureRect.Left + figureRect.Width * share;
            return
            [
                new PixelRect(left: figureRect.Left, right: split, bottom: figureRect.Bottom, top: figureRect.Top),
                new PixelRect(left: split, right: figureRect.Right, bottom: figureRect.Bottom, top: figureRect.Top),
            ];
        }
    }
}
