namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Runs a tool to completion with a timeout; the tool is killed if it overruns.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using var child = ChildProcess.Start(fileName, arguments, workingDirectory, environment);
        var exitCode = await child.WaitForExitAsync(timeout);
        return new ProcessResult(child.Description, exitCode, child.Stdout, child.Stderr);
    }
}
