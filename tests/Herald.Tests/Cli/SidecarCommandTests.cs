using Herald.Proxy.Bootstrap;
using Herald.Proxy.Cli;
using Herald.Proxy.Config;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Cli;

public sealed class SidecarCommandTests
{
    [Fact]
    public void BuildBootstrap_InterceptionAndService_BothInNodeMetadata()
    {
        var yaml = SidecarCommand.BuildBootstrap("127.0.0.1:15010", "n1", "frontend", "web", "TPROXY", delta: false);

        var node = BootstrapLoader.Parse(yaml).Node;
        Assert.Equal("TPROXY", node.Metadata.Fields["HERALD_INTERCEPTION"].StringValue);
        Assert.Equal("web", node.Metadata.Fields["HERALD_SERVICE"].StringValue);
        // The control plane reads the same key.
        Assert.Equal(new NodeRole(NodeKind.Sidecar, null, "frontend", "web", InterceptionMode.Tproxy), NodeRole.Of(node));
    }

    [Fact]
    public void BuildBootstrap_InterceptionWithoutService_OnlyInterceptionMetadata()
    {
        var node = BootstrapLoader.Parse(SidecarCommand.BuildBootstrap("127.0.0.1:15010", "n1", "frontend", null, "REDIRECT", delta: true)).Node;

        Assert.Equal(["HERALD_INTERCEPTION"], node.Metadata.Fields.Keys);
        Assert.Equal(InterceptionMode.Redirect, NodeRole.Of(node).Interception);
    }

    [Fact]
    public void BuildBootstrap_NoInterception_NoInterceptionMetadata()
    {
        var node = BootstrapLoader.Parse(SidecarCommand.BuildBootstrap("127.0.0.1:15010", "n1", "frontend", "web", null, delta: false)).Node;

        Assert.Equal(["HERALD_SERVICE"], node.Metadata.Fields.Keys);
    }

    [Fact]
    public void BuildBootstrap_SeveralAddresses_OneAdsEndpointEachInOrder()
    {
        var bootstrap = BootstrapLoader.Parse(SidecarCommand.BuildBootstrap("127.0.0.1:15010, 127.0.0.2:15011", "n1", "frontend", null, null, delta: false));

        var endpoints = bootstrap.StaticResources.Clusters.Single(c => c.Name == "herald_xds").LoadAssignment.Endpoints.Single().LbEndpoints;
        Assert.Equal(
            ["127.0.0.1:15010", "127.0.0.2:15011"],
            endpoints.Select(e => $"{e.Endpoint.Address.SocketAddress.Address}:{e.Endpoint.Address.SocketAddress.PortValue}"));
    }

    [Fact]
    public void BuildBootstrap_OneBadAddressAmongSeveral_NamesIt()
    {
        var e = Assert.Throws<ConfigException>(() => SidecarCommand.BuildBootstrap("127.0.0.1:15010,replica-b", "n1", "frontend", null, null, delta: false));

        Assert.Contains("'replica-b' is not HOST:PORT", e.Message, StringComparison.Ordinal);
        Assert.Contains("--xds", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redirect", "REDIRECT")]
    [InlineData("TProxy", "TPROXY")]
    [InlineData(null, null)]
    public void ParseInterception_AnyCase_UpperCased(string? value, string? expected)
    {
        Assert.Equal(expected, SidecarCommand.ParseInterception(value));
    }

    [Fact]
    public void ParseInterception_UnknownMode_NamesTheFlagAndModes()
    {
        var error = Assert.Throws<ConfigException>(() => SidecarCommand.ParseInterception("nat"));

        Assert.Equal("--interception", error.FieldPath);
        Assert.Contains("REDIRECT", error.Message, StringComparison.Ordinal);
        Assert.Contains("TPROXY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_BadInterception_ExitsTwoNamingTheFlag()
    {
        var stderr = new StringWriter();

        var exit = await SidecarCommand.RunAsync(["--xds", "127.0.0.1:15010", "--node-id", "n1", "--cluster", "frontend", "--interception", "nat"], stderr);

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        var message = stderr.ToString();
        Assert.Contains("--interception", message, StringComparison.Ordinal);
        Assert.Contains("REDIRECT", message, StringComparison.Ordinal);
        Assert.Contains("TPROXY", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InterceptionWithoutValue_ExitsTwoWithUsage()
    {
        var stderr = new StringWriter();

        var exit = await SidecarCommand.RunAsync(["--xds", "127.0.0.1:15010", "--node-id", "n1", "--cluster", "frontend", "--interception"], stderr);

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        Assert.Contains("[--interception REDIRECT|TPROXY]", stderr.ToString(), StringComparison.Ordinal);
    }
}
