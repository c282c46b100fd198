using System.Text;
using Herald.Proxy.Http.Routing;
using Xunit;

namespace Herald.Tests.Http.Routing;

public sealed class XxHash64Tests
{
    [Theory]
    [InlineData("", 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0UL, 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0UL, 0x44BC2CF5AD770999UL)]
    [InlineData("foo", 0UL, 0x33BF00A859C4BA3FUL)]
    [InlineData("xxhash", 20141025UL, 0xB559B98D844E0635UL)]
    // 39 bytes: one 32-byte stripe, then the 4-byte and single-byte tails.
    [InlineData("Nobody inspects the spammish repetition", 0UL, 0xFBCEA83C8A378BF1UL)]
    public void Hash_PublishedVectors_Match(string input, ulong seed, ulong expected)
    {
        Assert.Equal(expected, XxHash64.Hash(Encoding.ASCII.GetBytes(input), seed));
    }

    [Fact]
    public void Hash_LongInput_DependsOnEveryByte()
    {
        var data = new byte[100];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)i;
        }

        var original = XxHash64.Hash(data);
        for (var i = 0; i < data.Length; i += 7)
        {
            data[i] ^= 1;
            Assert.NotEqual(original, XxHash64.Hash(data));
            data[i] ^= 1;
        }

        Assert.Equal(original, XxHash64.Hash(data));
    }
}
