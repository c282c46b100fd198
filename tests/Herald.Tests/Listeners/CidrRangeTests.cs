using System.Net;
using Herald.Proxy.Listeners;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class CidrRangeTests
{
    [Theory]
    [InlineData("10.0.0.0", 8, "10.255.1.2", true)]
    [InlineData("10.0.0.0", 8, "11.0.0.1", false)]
    [InlineData("10.251.7.3", 32, "10.251.7.3", true)]
    [InlineData("10.251.7.3", 32, "10.251.7.4", false)]
    [InlineData("10.1.2.3", 0, "192.168.1.1", true)]
    [InlineData("10.1.128.0", 17, "10.1.200.9", true)]
    [InlineData("10.1.128.0", 17, "10.1.127.9", false)]
    [InlineData("fd00::", 64, "fd00::1:2", true)]
    [InlineData("fd00::", 64, "fd01::1", false)]
    [InlineData("fd00::7", 128, "fd00::7", true)]
    [InlineData("10.0.0.0", 8, "::ffff:10.0.0.1", true)]
    [InlineData("10.0.0.0", 8, "fd00::1", false)]
    public void Contains_Address_MatchesThePrefixOnly(string network, int length, string address, bool expected)
    {
        var range = new CidrRange(IPAddress.Parse(network), length);

        Assert.Equal(expected, range.Contains(IPAddress.Parse(address)));
    }

    [Fact]
    public void ToString_HostBitsSet_ShowsTheMaskedNetwork()
    {
        Assert.Equal("10.1.0.0/16", new CidrRange(IPAddress.Parse("10.1.2.3"), 16).ToString());
    }

    [Fact]
    public void Constructor_PrefixLongerThanAddress_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CidrRange(IPAddress.Parse("10.0.0.0"), 33));
    }
}
