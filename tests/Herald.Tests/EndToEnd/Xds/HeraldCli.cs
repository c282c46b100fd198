using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// Starts any <c>herald</c> command (control-plane, proxy, sidecar, gateway) as a child
/// process: <c>dotnet herald.dll ARGS</c> from the test output, or HERALD_BIN when set.
/// </summary>
internal static class HeraldCli
{
    public static ChildProcess Start(params string[] args)
    {
        var command = CommandLine(args);
        return ChildProcess.Start(command[0], command[1..]);
    }

    /// <summary>
    /// The full command line that runs <c>herald ARGS</c> (program first), for callers that
    /// put a prefix in front, such as <c>ip netns exec NS setpriv ...</c>.
    /// </summary>
    public static string[] CommandLine(params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable("HERALD_BIN");
        if (!string.IsNullOrEmpty(bin))
        {
            return [bin, .. args];
        }

        var dll = Path.Combine(AppContext.BaseDirectory, "herald.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the test project (it references proxy/Herald.Proxy.csproj) or set HERALD_BIN.");
        }

        return [Tools.DotnetHost(), dll, .. args];
    }

    /// <summary>True when a process that just exited failed to bind a port someone else took meanwhile.</summary>
    public static bool LooksLikeBindConflict(string output) =>
        output.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || output.Contains("EADDRINUSE", StringComparison.Ordinal)
        || output.Contains("failed to bind", StringComparison.OrdinalIgnoreCase);
}
