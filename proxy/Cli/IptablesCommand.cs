using Herald.Iptables;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald iptables install | uninstall | verify | print [flags]</c>: the init container's job.
/// Flags are checked in full before anything is applied.
/// </summary>
internal static class IptablesCommand
{
    public const string Usage = $"""
        usage: herald iptables install|uninstall|verify|print [flags]

          install    apply Herald's interception rules; idempotent, repairs drift, leaves foreign rules alone
          uninstall  remove everything of Herald's (chains, jumps, nft table, TPROXY route)
          verify     compare the live rules with the rendered ones; exit 1 on drift
          print      show the exact rules install would apply, without applying them

        flags:
        {InterceptionOptionsParser.Flags}
        """;

    public static Task<int> RunAsync(string[] args) => Task.FromResult(Run(args, new ProcessCommandRunner(), Console.Out, Console.Error));

    internal static int Run(string[] args, ICommandRunner runner, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine($"herald iptables: missing action.\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        if (args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return CommandLine.ExitOk;
        }

        var action = args[0];
        if (action is not ("install" or "uninstall" or "verify" or "print"))
        {
            stderr.WriteLine($"herald iptables: unknown action '{action}'.\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        InterceptionOptions options;
        try
        {
            options = InterceptionOptionsParser.Parse(args[1..]);
        }
        catch (InterceptionUsageException e)
        {
            stderr.WriteLine($"herald iptables {action}: {e.Message} (nothing was applied)");
            return CommandLine.ExitBadConfig;
        }

        if (action == "print")
        {
            stdout.Write(InterceptionPrinter.Render(options));
            return CommandLine.ExitOk;
        }

        var installer = new InterceptionInstaller(runner);
        try
        {
            var report = action switch
            {
                "install" => installer.Install(options),
                "uninstall" => installer.Uninstall(options),
                _ => installer.Verify(options),
            };
            foreach (var note in report.Notes)
            {
                stderr.WriteLine($"herald iptables {action}: note: {note}");
            }

            var verb = action switch
            {
                "install" => "repaired",
                "uninstall" => "removed",
                _ => "drift",
            };
            foreach (var line in report.Drift)
            {
                stdout.WriteLine($"{verb}: {line}");
            }

            if (action == "verify")
            {
                stdout.WriteLine(report.Drift.Count == 0 ? "ok: rules are in place" : "rules differ from the rendered ones");
                return report.Drift.Count == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
            }

            stdout.WriteLine(report.Changed ? $"{action}: done" : $"{action}: nothing to do");
            return CommandLine.ExitOk;
        }
        catch (InterceptionException e)
        {
            stderr.WriteLine($"herald iptables {action}: {e.Message}");
            return CommandLine.ExitFailure;
        }
    }
}
