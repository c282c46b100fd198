using System.Diagnostics;
using System.Globalization;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>Latency samples in milliseconds, with nearest-rank percentiles.</summary>
internal sealed class Samples
{
    private readonly List<double> _values = [];

    public int Count => _values.Count;

    public void Add(double milliseconds) => _values.Add(milliseconds);

    public void AddElapsed(long startTimestamp, long endTimestamp) =>
        _values.Add(Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalMilliseconds);

    public double Percentile(double p)
    {
        if (_values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = _values.ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public double Max => _values.Count == 0 ? double.NaN : _values.Max();

    public static string Ms(double value) => double.IsNaN(value) ? "n/a" : value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    /// <summary>"p50 / p99" in milliseconds.</summary>
    public string P50P99() => $"{Ms(Percentile(50))} / {Ms(Percentile(99))}";
}
