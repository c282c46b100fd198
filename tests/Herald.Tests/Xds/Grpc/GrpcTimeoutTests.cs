using Herald.Xds.Grpc;
using Xunit;

namespace Herald.Tests.Xds.Grpc;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("30S", 300_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("99999999H", 99_999_999L * 36_000_000_000L)]
    [InlineData("00000005S", 50_000_000L)]
    public void TryParse_ValidValue_GivesTicks(string value, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("123456789S")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("1 S")]
    [InlineData("1.5S")]
    public void TryParse_InvalidValue_False(string value) => Assert.False(GrpcTimeout.TryParse(value, out _));

    [Theory]
    [InlineData(1L, "100n")]
    [InlineData(10_000L, "1000000n")]
    [InlineData(3_000_000L, "300000u")]
    [InlineData(50_000_000_000L, "5000000m")]
    [InlineData(0L, "1n")]
    public void Format_UsesTheFinestUnitThatFits(long ticks, string expected) =>
        Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData(1L)]
    [InlineData(12_345_678L)]
    [InlineData(987_654_321_000L)]
    [InlineData(36_000_000_000_000L)]
    public void Format_AtMostEightDigits_NeverShorterThanAsked(long ticks)
    {
        var text = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
        Assert.InRange(text.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(text, out var parsed));
        Assert.True(parsed.Ticks >= ticks, $"{text} is shorter than {ticks} ticks");
    }

    [Fact]
    public void Format_HugeTimeout_ClampsToTheLargestValue() =>
        Assert.Equal("99999999H", GrpcTimeout.Format(TimeSpan.MaxValue));
}
