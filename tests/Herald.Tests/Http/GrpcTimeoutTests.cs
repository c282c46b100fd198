using System.Text;
using Herald.Proxy.Http;
using Xunit;

namespace Herald.Tests.Http;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("2S", 20_000_000L)]
    [InlineData("100m", 1_000_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("99999999n", 1_000_000L)] // nanoseconds round up to whole ticks, so "1n" is not "no time"
    [InlineData("0S", 0L)]
    [InlineData("00000001S", 10_000_000L)]
    public void TryParse_EveryUnit_Converted(string value, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(Encoding.ASCII.GetBytes(value), out var timeout));
        Assert.Equal(TimeSpan.FromTicks(ticks), timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("100")]
    [InlineData("100x")]
    [InlineData("1.5S")]
    [InlineData("-1S")]
    [InlineData(" 1S")]
    [InlineData("123456789S")]
    [InlineData("1s")]
    public void TryParse_BadValue_Ignored(string value)
    {
        Assert.False(GrpcTimeout.TryParse(Encoding.ASCII.GetBytes(value), out _));
    }
}
