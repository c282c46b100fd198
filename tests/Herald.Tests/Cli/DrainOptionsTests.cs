using Herald.Proxy;
using Herald.Proxy.Cli;
using Herald.Proxy.Config;
using Xunit;

namespace Herald.Tests.Cli;

public sealed class DrainOptionsTests
{
    [Fact]
    public void Parse_NothingGiven_ThirtySeconds() =>
        Assert.Equal(TimeSpan.FromSeconds(30), DrainOptions.Parse(null, null));

    [Fact]
    public void Parse_SecondsAndImmediate_TakesTheSeconds() =>
        Assert.Equal(TimeSpan.FromSeconds(5), DrainOptions.Parse("5", "immediate"));

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("30s")]
    public void Parse_NotWholeSeconds_NamesTheFlag(string value)
    {
        var error = Assert.Throws<ConfigException>(() => DrainOptions.Parse(value, null));

        Assert.Equal("--drain-time-s", error.FieldPath);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_GradualStrategy_RefusedWithTheFix()
    {
        var error = Assert.Throws<ConfigException>(() => DrainOptions.Parse(null, "gradual"));

        Assert.Equal("--drain-strategy", error.FieldPath);
        Assert.Contains("--drain-strategy immediate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SidecarRunAsync_BadDrainTime_ExitsTwoNamingTheFlag()
    {
        var stderr = new StringWriter();

        var exit = await SidecarCommand.RunAsync(["--xds", "127.0.0.1:15010", "--node-id", "n1", "--cluster", "frontend", "--drain-time-s", "soon"], stderr);

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        Assert.Contains("--drain-time-s: 'soon' is not a whole number of seconds", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(DataPlane.DefaultDrainTime, TimeSpan.FromSeconds(30));
    }
}
