using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class SemVerRangeTests
{
    [Theory]
    [InlineData("^1.2", "1.2.0", true)]
    [InlineData("^1.2", "1.9.9", true)]
    [InlineData("^1.2", "2.0.0", false)]
    [InlineData("^1.2", "1.1.9", false)]
    [InlineData("^0.2.3", "0.2.9", true)]
    [InlineData("^0.2.3", "0.3.0", false)]
    [InlineData("^0.0.3", "0.0.4", false)]
    [InlineData("~1.4", "1.4.7", true)]
    [InlineData("~1.4", "1.5.0", false)]
    [InlineData("~1", "1.9.0", true)]
    [InlineData(">=2.0 <3", "2.5.1", true)]
    [InlineData(">=2.0 <3", "3.0.0", false)]
    [InlineData(">= 2.0 < 3", "1.9.9", false)]
    [InlineData(">1.2", "1.2.5", false)]
    [InlineData(">1.2", "1.3.0", true)]
    [InlineData("<=1.2", "1.2.9", true)]
    [InlineData("<=1.2", "1.3.0", false)]
    [InlineData("1.x", "1.7.3", true)]
    [InlineData("1.2.*", "1.3.0", false)]
    [InlineData("*", "0.0.1", true)]
    [InlineData("1.2.3", "1.2.3", true)]
    [InlineData("=1.2.3", "1.2.4", false)]
    [InlineData("1.2 - 2.3", "2.3.9", true)]
    [InlineData("1.2 - 2.3", "2.4.0", false)]
    [InlineData("^1 || ^3", "3.1.0", true)]
    [InlineData("^1 || ^3", "2.1.0", false)]
    [InlineData("^2", "2.1.0-rc.1", false)]
    [InlineData(">=2.1.0-rc.0 <3", "2.1.0-rc.1", true)]
    public void IsSatisfiedBy_Range_MatchesAsNpmDoes(string range, string version, bool expected)
    {
        Assert.Equal(expected, SemVerRange.Parse(range).IsSatisfiedBy(SemVersion.Parse(version)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("^")]
    [InlineData("1.2.3.4")]
    [InlineData(">=a.b")]
    [InlineData("1.x.3")]
    public void TryParse_Garbage_ReturnsError(string text)
    {
        Assert.False(SemVerRange.TryParse(text, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void CompareTo_PreReleaseAndNumericIdentifiers_OrderAsSemVer()
    {
        string[] ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0"];
        for (var i = 1; i < ordered.Length; i++)
        {
            Assert.True(SemVersion.Parse(ordered[i - 1]) < SemVersion.Parse(ordered[i]), $"{ordered[i - 1]} < {ordered[i]}");
        }
    }

    [Fact]
    public void TryParse_BuildMetadataAndPrefix_AreAccepted()
    {
        Assert.True(SemVersion.TryParse("v1.2.3+build.5", out var v));
        Assert.Equal(SemVersion.Create(1, 2, 3), v);
        Assert.False(SemVersion.TryParse("1.2.x", out _));
    }
}
