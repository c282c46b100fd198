using System.Globalization;
using System.Text;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>The rows of the final markdown table, printed as they are measured too.</summary>
internal sealed class Report
{
    private readonly List<(string Measurement, string Value, string Notes)> _rows = [];

    public void Add(string measurement, string value, string notes = "")
    {
        _rows.Add((measurement, value, notes));
        Console.Error.WriteLine($"  {measurement}: {value} {notes}");
    }

    public string ToMarkdown()
    {
        var builder = new StringBuilder();
        builder.AppendLine("| measurement | value | notes |");
        builder.AppendLine("|---|---|---|");
        foreach (var (measurement, value, notes) in _rows)
        {
            builder.AppendLine(CultureInfo.InvariantCulture, $"| {measurement} | {value} | {notes} |");
        }

        return builder.ToString();
    }

    public static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    /// <summary>VmRSS of a process from /proc, in bytes; -1 when it cannot be read.</summary>
    public static long Rss(string pid = "self")
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }
}
