using Herald.Proxy.Cli;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary><c>herald iptables</c> as the init container runs it, against a real namespace.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class IptablesCommandNamespaceTests
{
    [Fact]
    public void InstallVerifyUninstall_ThroughTheCommand_RoundTrips()
    {
        using var pair = NamespacePair.Create();
        var original = pair.RuleState(pair.App);
        var runner = pair.Runner(pair.App);

        Assert.Equal(0, IptablesCommand.Run(["install"], runner, new StringWriter(), new StringWriter()));
        var verify = new StringWriter();
        Assert.Equal(0, IptablesCommand.Run(["verify"], runner, verify, new StringWriter()));
        Assert.Contains("ok: rules are in place", verify.ToString(), StringComparison.Ordinal);

        var again = new StringWriter();
        Assert.Equal(0, IptablesCommand.Run(["install"], runner, again, new StringWriter()));
        Assert.Equal("install: nothing to do\n", again.ToString());

        pair.Must(pair.App, "iptables", "-t", "nat", "-F", "HERALD_REDIRECT");
        Assert.Equal(1, IptablesCommand.Run(["verify"], runner, new StringWriter(), new StringWriter()));

        Assert.Equal(0, IptablesCommand.Run(["uninstall"], runner, new StringWriter(), new StringWriter()));
        Assert.DoesNotContain("HERALD_", pair.RuleState(pair.App), StringComparison.Ordinal);
        Assert.Equal(Normalize(original), Normalize(pair.RuleState(pair.App)));
    }

    [Fact]
    public void Install_BadFlag_AppliesNothing()
    {
        using var pair = NamespacePair.Create();
        var before = pair.RuleState(pair.App);
        var stderr = new StringWriter();
        Assert.Equal(2, IptablesCommand.Run(["install", "--exclude-outbound-cidrs", "10.0.0.0/8,nope"], pair.Runner(pair.App), new StringWriter(), stderr));
        Assert.Contains("--exclude-outbound-cidrs", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, pair.RuleState(pair.App));
    }

    /// <summary>
    /// In a namespace that never had nat/mangle, iptables-nft leaves those tables registered (empty) after
    /// uninstall, so this compares rules only; the exact comparison is in IptablesNamespaceTests.
    /// </summary>
    private static string Normalize(string state) =>
        string.Join('\n', state.Split('\n').Where(l => l.StartsWith("-A ", StringComparison.Ordinal) || l.Contains("lookup", StringComparison.Ordinal) || l.StartsWith("local ", StringComparison.Ordinal)));
}
