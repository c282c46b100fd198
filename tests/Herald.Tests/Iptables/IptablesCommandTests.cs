using Herald.Iptables;
using Herald.Proxy.Cli;
using Xunit;

namespace Herald.Tests.Iptables;

public sealed class IptablesCommandTests
{
    private sealed class RecordingRunner : ICommandRunner
    {
        public List<string> Calls { get; } = [];

        public CommandResult Run(string program, IReadOnlyList<string> args, string? stdin = null)
        {
            Calls.Add($"{program} {string.Join(' ', args)}");
            return new CommandResult(1, string.Empty, "not in a test");
        }
    }

    [Theory]
    [InlineData("--frobnicate", new[] { "install", "--frobnicate" })]
    [InlineData("--proxy-port", new[] { "install", "--proxy-port", "99999" })]
    [InlineData("--exclude-outbound-cidrs", new[] { "install", "--exclude-outbound-cidrs", "10.0.0.300/8" })]
    [InlineData("--inbound-mode", new[] { "uninstall", "--inbound-mode", "nat" })]
    [InlineData("--backend", new[] { "print", "--backend", "pf" })]
    public void Run_BadFlag_ExitsTwoNamingTheFlagAndAppliesNothing(string flag, string[] args)
    {
        var runner = new RecordingRunner();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = IptablesCommand.Run(args, runner, stdout, stderr);
        Assert.Equal(2, exit);
        Assert.Contains(flag, stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
        Assert.Empty(stdout.ToString());
    }

    [Fact]
    public void Run_UnknownAction_ExitsTwo()
    {
        var stderr = new StringWriter();
        Assert.Equal(2, IptablesCommand.Run(["apply"], new RecordingRunner(), new StringWriter(), stderr));
        Assert.Contains("unknown action 'apply'", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_Print_ShowsRulesWithoutRunningAnything()
    {
        var runner = new RecordingRunner();
        var stdout = new StringWriter();
        Assert.Equal(0, IptablesCommand.Run(["print"], runner, stdout, new StringWriter()));
        Assert.Equal(InterceptionPrinter.Render(new InterceptionOptions()), stdout.ToString());
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public void Run_InstallWhenToolsFail_ExitsOneWithTheReason()
    {
        var stderr = new StringWriter();
        Assert.Equal(1, IptablesCommand.Run(["install"], new RecordingRunner(), new StringWriter(), stderr));
        Assert.Contains("iptables-save", stderr.ToString(), StringComparison.Ordinal);
    }
}
