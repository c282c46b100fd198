namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Runs curl with a bounded time, silent but showing errors.</summary>
public static class Curl
{
    public static Task<ProcessResult> RunAsync(params string[] args) =>
        ProcessRunner.RunAsync(Tools.Curl, ["-sS", "--max-time", "30", .. args], TimeSpan.FromSeconds(40));

    /// <summary>
    /// Runs curl with <c>-D FILE</c> and returns the header dump as well: every response head
    /// and, after the body, the trailers (curl writes HTTP/1.1 trailers only there).
    /// </summary>
    public static async Task<(ProcessResult Result, string HeaderDump)> RunWithHeaderDumpAsync(params string[] args)
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await RunAsync(["-D", file, .. args]);
            return (result, await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
