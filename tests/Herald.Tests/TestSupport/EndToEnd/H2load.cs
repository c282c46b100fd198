using System.Globalization;
using System.Text.RegularExpressions;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Runs h2load (h2c prior knowledge for http:// URLs) and parses its summary.</summary>
public static partial class H2load
{
    public sealed record Run(ProcessResult Process, long Succeeded, long Failed, long Status2xx);

    public static async Task<Run> RunAsync(string url, int requests, int clients, int streams)
    {
        var process = await ProcessRunner.RunAsync(
            Tools.H2load,
            ["-n", requests.ToString(CultureInfo.InvariantCulture), "-c", clients.ToString(CultureInfo.InvariantCulture),
             "-m", streams.ToString(CultureInfo.InvariantCulture), url],
            TimeSpan.FromSeconds(60));
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
