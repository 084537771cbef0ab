using System.Globalization;
using ScottPlot;

namespace Switchboard.Benchmarks.RabbitMQ;

/// <summary>The chart of the broker harness: one bar per contender, messages per second end to end (taller is faster).</summary>
internal static class RabbitMqChart
{
    public static void Save(string path, string[] names, string[] colors, double[] rates, int messages, int producers, ushort prefetch)
    {
        Plot plot = new();
        plot.Font.Set("DejaVu Sans");
        List<Bar> bars = [];
        for (int i = 0; i < names.Length; i++)
        {
            bars.Add(new Bar
            {
                Position = i,
                Value = rates[i],
                Size = 0.7,
                FillColor = Color.FromHex(colors[i]),
                LineWidth = 0,
                Label = rates[i].ToString("N0", CultureInfo.InvariantCulture),
            });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 15;
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, names.Length).Select(i => (double)i)], names);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.Label.Text = "messages per second, confirmed → handled → acked (taller is faster)";
        plot.Axes.Left.Label.FontSize = 14;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.Axes.SetLimits(-0.5, names.Length - 0.5, 0, rates.DefaultIfEmpty(1).Max() * 1.2);
        plot.Title($"RabbitMQ end to end: {producers} producers awaiting each persistent message's confirm, prefetch {prefetch}, median of 3 × {messages:N0}", size: 16);
        plot.SavePng(path, 1400, 700);
    }
}
