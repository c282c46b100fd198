using Herald.Iptables;
using Xunit;

namespace Herald.Tests.Iptables;

public sealed class InterceptionOptionsParserTests
{
    [Fact]
    public void Parse_NoFlags_GivesIstioStyleDefaults()
    {
        var options = InterceptionOptionsParser.Parse([]);
        Assert.Equal(15001, options.ProxyPort);
        Assert.Equal(15006, options.InboundPort);
        Assert.Equal(1337u, options.ProxyUid);
        Assert.Equal(1337u, options.ProxyGid);
        Assert.Null(options.IncludeInboundPorts);
        Assert.Null(options.IncludeOutboundCidrs);
        Assert.Equal([15020, 15021, 15090], options.ExcludeInboundPorts);
        Assert.Equal(InboundMode.Redirect, options.InboundMode);
        Assert.Equal(Backend.Iptables, options.Backend);
        Assert.True(options.Ipv6);
    }

    [Fact]
    public void Parse_ExcludeInboundPorts_KeepsDefaultsSortedAndDeduplicated()
    {
        var options = InterceptionOptionsParser.Parse(["--exclude-inbound-ports", "9000,22,15021,22"]);
        Assert.Equal([22, 9000, 15020, 15021, 15090], options.ExcludeInboundPorts);
    }

    [Fact]
    public void Parse_EqualsForm_IsAccepted()
    {
        var options = InterceptionOptionsParser.Parse(["--inbound-mode=tproxy", "--backend=nft", "--include-outbound-cidrs=10.1.2.3/8"]);
        Assert.Equal(InboundMode.Tproxy, options.InboundMode);
        Assert.Equal(Backend.Nft, options.Backend);
        Assert.Equal("10.0.0.0/8", Assert.Single(options.IncludeOutboundCidrs!).ToString());
    }

    [Fact]
    public void Parse_EmptyIncludeInboundPorts_CapturesNoInbound()
    {
        Assert.Empty(InterceptionOptionsParser.Parse(["--include-inbound-ports", ""]).IncludeInboundPorts!);
        Assert.Null(InterceptionOptionsParser.Parse(["--include-inbound-ports", "*"]).IncludeInboundPorts);
    }

    [Theory]
    [InlineData("--bogus", new[] { "--bogus" })]
    [InlineData("--proxy-port", new[] { "--proxy-port", "0" })]
    [InlineData("--proxy-port", new[] { "--proxy-port", "65536" })]
    [InlineData("--inbound-port", new[] { "--inbound-port", "http" })]
    [InlineData("--exclude-outbound-ports", new[] { "--exclude-outbound-ports", "80,-1" })]
    [InlineData("--include-inbound-ports", new[] { "--include-inbound-ports", "80,,90" })]
    [InlineData("--exclude-outbound-cidrs", new[] { "--exclude-outbound-cidrs", "10.0.0.0/33" })]
    [InlineData("--include-outbound-cidrs", new[] { "--include-outbound-cidrs", "10.0.0/8" })]
    [InlineData("--exclude-outbound-cidrs", new[] { "--exclude-outbound-cidrs", "fd00::/129" })]
    [InlineData("--inbound-mode", new[] { "--inbound-mode", "MASQUERADE" })]
    [InlineData("--backend", new[] { "--backend", "ebtables" })]
    [InlineData("--proxy-uid", new[] { "--proxy-uid", "root" })]
    [InlineData("--proxy-gid", new[] { "--proxy-gid" })]
    [InlineData("--proxy-port", new[] { "--proxy-port", "1", "--proxy-port", "2" })]
    [InlineData("--inbound-port", new[] { "--proxy-port", "15006" })]
    [InlineData("--no-ipv6", new[] { "--no-ipv6=yes" })]
    public void Parse_BadFlag_ThrowsNamingTheFlag(string flag, string[] args)
    {
        var error = Assert.Throws<InterceptionUsageException>(() => InterceptionOptionsParser.Parse(args));
        Assert.Equal(flag, error.Flag);
        Assert.StartsWith(flag, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.2.3/8", "10.0.0.0/8")]
    [InlineData("10.1.2.3", "10.1.2.3/32")]
    [InlineData("192.168.1.255/23", "192.168.0.0/23")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("fd00:1:2::5/16", "fd00::/16")]
    [InlineData("::1", "::1/128")]
    public void CidrTryParse_MasksLikeIptablesSave(string text, string expected)
    {
        Assert.Equal(expected, Cidr.TryParse(text)?.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/+8")]
    [InlineData("fe80::1%eth0/64")]
    [InlineData("example.com/8")]
    public void CidrTryParse_Malformed_ReturnsNull(string text)
    {
        Assert.Null(Cidr.TryParse(text));
    }
}
