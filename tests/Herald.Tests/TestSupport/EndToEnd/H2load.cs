using System.Globalization;
using System.Text.RegularExpressions;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Runs h2load (h2c prior knowledge for http:// URLs) and parses its summary.</summary>
public static partial class H2load
{
    public sealed record Run(ProcessResult Process, long Succeeded, long Failed, long Status2xx);

    public static Task<Run> RunAsync(string url, int requests, int clients, int streams) =>
        RunAsync(["-n", requests.ToString(CultureInfo.InvariantCulture), "-c", clients.ToString(CultureInfo.InvariantCulture),
                  "-m", streams.ToString(CultureInfo.InvariantCulture), url], TimeSpan.FromSeconds(60));

    /// <summary>Load for <paramref name="duration"/> (h2load -D) over HTTP/2, or HTTP/1.1 keep-alive with <paramref name="http1"/>.</summary>
    public static Task<Run> RunForAsync(string url, TimeSpan duration, int clients, int streams, bool http1)
    {
        var seconds = ((int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        List<string> args = ["-D", seconds, "-c", clients.ToString(CultureInfo.InvariantCulture), "-m", streams.ToString(CultureInfo.InvariantCulture)];
        if (http1)
        {
            args.Add("--h1");
        }

        args.Add(url);
        return RunAsync(args, duration + TimeSpan.FromSeconds(60));
    }

    private static async Task<Run> RunAsync(IReadOnlyList<string> args, TimeSpan timeout)
    {
        var process = await ProcessRunner.RunAsync(Tools.H2load, args, timeout);
        var summary = RequestsLine().Match(process.Stdout);
        var codes = StatusLine().Match(process.Stdout);
        return new Run(
            process,
            summary.Success ? long.Parse(summary.Groups["ok"].Value, CultureInfo.InvariantCulture) : -1,
            summary.Success ? long.Parse(summary.Groups["failed"].Value, CultureInfo.InvariantCulture) : -1,
            codes.Success ? long.Parse(codes.Groups["two"].Value, CultureInfo.InvariantCulture) : -1);
    }

    // "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout"
    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<ok>\d+) succeeded, (?<failed>\d+) failed")]
    private static partial Regex RequestsLine();

    // "status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx"
    [GeneratedRegex(@"status codes: (?<two>\d+) 2xx")]
    private static partial Regex StatusLine();
}
