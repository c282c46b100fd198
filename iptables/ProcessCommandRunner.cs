using System.ComponentModel;
using System.Diagnostics;

namespace Herald.Iptables;

/// <summary>
/// Runs commands as child processes, optionally behind a prefix such as
/// <c>ip netns exec NS</c>. Each command has a time limit, so a wedged tool cannot hang an init container.
/// </summary>
public sealed class ProcessCommandRunner(IReadOnlyList<string>? prefix = null) : ICommandRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly IReadOnlyList<string> _prefix = prefix ?? [];

    public CommandResult Run(string program, IReadOnlyList<string> args, string? stdin = null)
    {
        var all = _prefix.Concat([program]).Concat(args).ToList();
        var start = new ProcessStartInfo(all[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in all.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {all[0]}");
        }
        catch (Win32Exception e)
        {
            return new CommandResult(CommandResult.NotFound, string.Empty, $"{all[0]}: {e.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
            }

            process.StandardInput.Close();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return new CommandResult(-1, stdout.Result, $"{string.Join(' ', all)}: timed out after {Timeout.TotalSeconds} s");
            }

            process.WaitForExit();
            return new CommandResult(process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
