using System.Globalization;
using ScottPlot;

namespace Switchboard.Benchmarks.Kafka;

/// <summary>The chart of the Kafka harness: per process, one bar per contender, messages per second end to end (taller is faster).</summary>
internal static class KafkaChart
{
    private static readonly (string Name, string Color)[] Contenders =
    [
        ("raw Confluent.Kafka", "#7f7f7f"),
        ("Switchboard", "#1f77b4"),
        ("WolverineFx.Kafka 6.62", "#2ca02c"),
    ];

    public static void Save(string path, IReadOnlyList<double[]> processes, int messages, int producers)
    {
        Plot plot = new();
        plot.Font.Set("DejaVu Sans");
        List<Bar> bars = [];
        for (int p = 0; p < processes.Count; p++)
        {
            for (int c = 0; c < Contenders.Length; c++)
            {
                bars.Add(new Bar
                {
                    Position = (p * (Contenders.Length + 1)) + c,
                    Value = processes[p][c],
                    Size = 0.9,
                    FillColor = Color.FromHex(Contenders[c].Color),
                    LineWidth = 0,
                    Label = processes[p][c].ToString("N0", CultureInfo.InvariantCulture),
                });
            }
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 13;
        plot.Axes.Bottom.SetTicks(
            [.. Enumerable.Range(0, processes.Count).Select(p => (double)(p * (Contenders.Length + 1)) + 1)],
            [.. Enumerable.Range(1, processes.Count).Select(p => $"process {p}")]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.Label.Text = "messages per second, delivery report → handled → committed (taller is faster)";
        plot.Axes.Left.Label.FontSize = 14;
        for (int c = 0; c < Contenders.Length; c++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = Contenders[c].Name, FillColor = Color.FromHex(Contenders[c].Color) });
        }

        plot.ShowLegend(Alignment.UpperRight);
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.Axes.SetLimits(-1, (processes.Count * (Contenders.Length + 1)) - 1, 0, processes.SelectMany(r => r).DefaultIfEmpty(1).Max() * 1.3);
        plot.Title($"Kafka end to end against librdkafka's mock cluster (not a broker): {producers} producers, median of 3 × {messages:N0} per process", size: 15);
        plot.SavePng(path, 1400, 700);
    }
}
