using System.Globalization;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// CPU time (user + system) a process has used, from /proc/PID/stat. On a busy machine wall
/// time includes waiting for a core; CPU time does not, so both are reported.
/// </summary>
internal static class CpuClock
{
    // USER_HZ: the kernel reports these fields in 1/100 s on every common Linux build.
    private const double TickMs = 10.0;

    /// <summary>Milliseconds of CPU used so far; NaN when /proc cannot be read.</summary>
    public static double Ms(string pid = "self")
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // Fields after the command name (which may hold spaces) start at field 3 (state).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) * TickMs;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
