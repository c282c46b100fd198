using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using static Herald.Tests.EndToEnd.Interception.InterceptionTestKit;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>The nftables backend in a real namespace: one table of Herald's own, replaced atomically.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class NftNamespaceTests
{
    [Theory]
    [InlineData("REDIRECT")]
    [InlineData("TPROXY")]
    public void Install_Twice_EqualsOnceAndVerifiesClean(string mode)
    {
        using var pair = NamespacePair.Create();
        Assert.True(Install(pair, "--backend", "nft", "--inbound-mode", mode).Changed);
        var once = pair.Must(pair.App, "nft", "list", "ruleset");
        var second = Install(pair, "--backend", "nft", "--inbound-mode", mode);

        Assert.False(second.Changed, string.Join("\n", second.Drift.Concat(second.Notes)));
        Assert.Empty(second.Notes);
        Assert.Equal(once, pair.Must(pair.App, "nft", "list", "ruleset"));
        Assert.Empty(Verify(pair, "--backend", "nft", "--inbound-mode", mode).Drift);
    }

    [Fact]
    public void Install_AfterTampering_DetectsAndRepairs()
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", "nft");
        var clean = pair.Must(pair.App, "nft", "list", "ruleset");
        pair.Must(pair.App, "nft", "insert", "rule", "inet", "herald", "outbound", "return");

        Assert.Contains("nft table inet herald: differs", Verify(pair, "--backend", "nft").Drift);
        Assert.True(Install(pair, "--backend", "nft").Changed);
        Assert.Equal(clean, pair.Must(pair.App, "nft", "list", "ruleset"));
    }

    [Fact]
    public void InstallThenUninstall_ForeignTableSurvivesAndOriginalIsRestored()
    {
        using var pair = NamespacePair.Create();
        pair.Must(pair.App, "nft", "add", "table", "ip", "foreign");
        pair.Must(pair.App, "nft", "add", "chain", "ip", "foreign", "out", "{ type filter hook output priority 0; policy accept; }");
        pair.Must(pair.App, "nft", "add", "rule", "ip", "foreign", "out", "tcp", "dport", "25", "accept");
        var original = pair.Must(pair.App, "nft", "list", "ruleset") + pair.Must(pair.App, "ip", "rule", "show");

        Install(pair, "--backend", "nft", "--inbound-mode", "TPROXY");
        Assert.Contains("tcp dport 25 accept", pair.Must(pair.App, "nft", "list", "ruleset"), StringComparison.Ordinal);
        Assert.True(Uninstall(pair).Changed);

        Assert.Equal(original, pair.Must(pair.App, "nft", "list", "ruleset") + pair.Must(pair.App, "ip", "rule", "show"));
    }

    [Fact]
    public void Install_SwitchingBackend_RemovesTheOtherBackendsRules()
    {
        using var pair = NamespacePair.Create();
        Install(pair);
        Install(pair, "--backend", "nft");
        Assert.DoesNotContain("HERALD_", pair.RuleState(pair.App), StringComparison.Ordinal);

        Install(pair);
        Assert.DoesNotContain("table inet herald", pair.Must(pair.App, "nft", "list", "ruleset"), StringComparison.Ordinal);
    }
}
