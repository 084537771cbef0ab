using System.Globalization;

namespace Switchboard.Benchmarks.Report;

/// <summary>Number formats for the report: invariant culture, precision that fits the magnitude.</summary>
internal static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Ns(double ns) => ns switch
    {
        double.NaN => "–",
        < 10 => ns.ToString("0.00", Invariant) + " ns",
        < 1000 => ns.ToString("0.0", Invariant) + " ns",
        < 1_000_000 => (ns / 1000).ToString("0.00", Invariant) + " µs",
        _ => (ns / 1_000_000).ToString("0.00", Invariant) + " ms",
    };

    public static string Bytes(long bytes) => bytes switch
    {
        < 0 => "–",
        0 => "0 B",
        < 10 * 1024 => bytes.ToString(Invariant) + " B",
        _ => (bytes / 1024.0).ToString("0.0", Invariant) + " KB",
    };

    public static string Ratio(double ratio) => double.IsFinite(ratio)
        ? ratio.ToString(ratio < 10 ? "0.00" : ratio < 100 ? "0.0" : "0", Invariant) + " ×"
        : "–";

    /// <summary>Messages per second from nanoseconds per message.</summary>
    public static string Rate(double nsPerMessage)
    {
        double perSecond = 1e9 / nsPerMessage;
        return perSecond >= 1e6
            ? (perSecond / 1e6).ToString("0.0", Invariant) + " M msg/s"
            : (perSecond / 1e3).ToString("0", Invariant) + " K msg/s";
    }

    /// <summary>The lowest and highest of the processes' means, and how many processes: "12.1–13.4 ns (3)".</summary>
    public static string Spread(IReadOnlyList<double> processMeans) => processMeans.Count switch
    {
        0 => "–",
        1 => $"{Ns(processMeans[0])} (1)",
        _ => $"{Ns(processMeans.Min())}–{Ns(processMeans.Max())} ({processMeans.Count.ToString(Invariant)})",
    };

    public static string Percent(double share) => share.ToString("P0", Invariant);
}
