using System.Text;
using Herald.Proxy.Upstream.Http2;
using Xunit;
using static Herald.Tests.Upstream.Http2.HPackTestData;

namespace Herald.Tests.Upstream.Http2;

public sealed class HPackHuffmanTests
{
    // The Huffman strings of RFC 7541 Appendix C.4 and C.6.
    public static TheoryData<string, string> RfcStrings => new()
    {
        { "f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com" },
        { "a8eb 1064 9cbf", "no-cache" },
        { "25a8 49e9 5ba9 7d7f", "custom-key" },
        { "25a8 49e9 5bb8 e8b4 bf", "custom-value" },
        { "6402", "302" },
        { "aec3 771a 4b", "private" },
        { "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff", "Mon, 21 Oct 2013 20:13:21 GMT" },
        { "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3", "https://www.example.com" },
        { "9bd9 ab", "gzip" },
        { "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1" },
    };

    [Theory]
    [MemberData(nameof(RfcStrings))]
    public void TryDecode_RfcExampleStrings_DecodesThem(string hex, string expected)
    {
        var destination = new byte[64];

        Assert.True(HPackHuffman.TryDecode(Hex(hex), destination, out var written));

        Assert.Equal(expected, Encoding.ASCII.GetString(destination, 0, written));
        Assert.Equal(expected.Length, HPackHuffman.GetDecodedLength(Hex(hex)));
    }

    [Theory]
    [MemberData(nameof(RfcStrings))]
    public void HuffmanEncode_RfcExampleStrings_MatchesRfcBytes(string hex, string text)
    {
        // Checks the tests' encoder (and so the code table) against the RFC before it feeds other tests.
        Assert.Equal(Hex(hex), HuffmanEncode(Latin1(text)));
    }

    [Fact]
    public void CodeTable_Lengths_FormACompleteCode()
    {
        // Kraft's sum is exactly 1 for a complete prefix code: sum of 2^(30 - length) == 2^30.
        long sum = 0;
        for (var symbol = 0; symbol <= HPackHuffman.EndOfString; symbol++)
        {
            Assert.InRange(HPackHuffman.CodeLengths[symbol], 5, 30);
            Assert.True(HPackHuffman.Codes[symbol] < 1u << HPackHuffman.CodeLengths[symbol]);
            sum += 1L << (30 - HPackHuffman.CodeLengths[symbol]);
        }

        Assert.Equal(1L << 30, sum);
        Assert.Equal(0x3fffffffu, HPackHuffman.Codes[HPackHuffman.EndOfString]);
    }

    [Fact]
    public void TryDecode_AllByteValues_RoundTrip()
    {
        var all = new byte[256];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = (byte)i;
        }

        AssertRoundTrip(all);
        for (var i = 0; i < all.Length; i++)
        {
            // Alone and after each other symbol length, to end on every padding length.
            AssertRoundTrip([(byte)i]);
            AssertRoundTrip([(byte)i, (byte)(255 - i)]);
        }
    }

    [Fact]
    public void TryDecode_RandomStrings_RoundTrip()
    {
        var random = new Random(7541);
        for (var i = 0; i < 2000; i++)
        {
            var input = new byte[random.Next(0, 100)];
            if (i % 2 == 0)
            {
                random.NextBytes(input);
            }
            else
            {
                // Mostly header-like characters, which have the short codes.
                for (var j = 0; j < input.Length; j++)
                {
                    input[j] = (byte)random.Next(0x20, 0x7F);
                }
            }

            AssertRoundTrip(input);
        }
    }

    [Fact]
    public void TryDecode_Empty_WritesNothing()
    {
        Assert.True(HPackHuffman.TryDecode([], [], out var written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void TryDecode_DestinationTooSmall_ReturnsFalse()
    {
        var encoded = Hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff");

        Assert.False(HPackHuffman.TryDecode(encoded, new byte[14], out var written));
        Assert.Equal(0, written);
        Assert.True(HPackHuffman.TryDecode(encoded, new byte[15], out written));
        Assert.Equal(15, written);
    }

    [Fact]
    public void TryDecode_EndOfStringSymbol_Throws()
    {
        // 'a' (00011), then EOS (30 ones), then one padding bit: 5 + 30 + 5 = 40 bits.
        var encoded = new byte[] { 0b0001_1111, 0xFF, 0xFF, 0xFF, 0xFF };

        var error = Assert.Throws<HPackDecodingException>(() => HPackHuffman.TryDecode(encoded, new byte[16], out _));
        Assert.Contains("EOS", error.Message, StringComparison.Ordinal);
        Assert.Throws<HPackDecodingException>(() => HPackHuffman.GetDecodedLength(encoded));
    }

    [Fact]
    public void TryDecode_EndOfStringSymbolAfterWholeOctets_Throws()
    {
        // EOS alone, padded: 30 ones and 2 ones of padding.
        Assert.Throws<HPackDecodingException>(() => HPackHuffman.TryDecode([0xFF, 0xFF, 0xFF, 0xFF], new byte[16], out _));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]                   // 8 bits of padding and nothing else
    [InlineData(new byte[] { 0b0001_1111, 0xFF })]      // 'a' then 11 bits of padding
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF })]       // 24 ones: a prefix of EOS
    public void TryDecode_PaddingLongerThanSevenBits_Throws(byte[] encoded)
    {
        var error = Assert.Throws<HPackDecodingException>(() => HPackHuffman.TryDecode(encoded, new byte[16], out _));
        Assert.Contains("longer than 7 bits", error.Message, StringComparison.Ordinal);
        Assert.Throws<HPackDecodingException>(() => HPackHuffman.GetDecodedLength(encoded));
    }

    [Theory]
    [InlineData(new byte[] { 0b0001_1000 })]            // 'a' then padding 000
    [InlineData(new byte[] { 0b0001_1110 })]            // 'a' then padding 110
    [InlineData(new byte[] { 0b1111_1110 })]            // 7 bits of a longer code that never ends
    public void TryDecode_PaddingNotAllOnes_Throws(byte[] encoded)
    {
        var error = Assert.Throws<HPackDecodingException>(() => HPackHuffman.TryDecode(encoded, new byte[16], out _));
        Assert.Contains("not all ones", error.Message, StringComparison.Ordinal);
        Assert.Throws<HPackDecodingException>(() => HPackHuffman.GetDecodedLength(encoded));
    }

    [Fact]
    public void TryDecode_SevenBitsOfPadding_Accepted()
    {
        // Five 5-bit codes take 25 bits, leaving 7 bits of padding, the most allowed.
        var encoded = HuffmanEncode("aaaaa"u8);

        Assert.Equal(4, encoded.Length);
        Assert.Equal(0x7F, encoded[3] & 0x7F);
        Assert.True(HPackHuffman.TryDecode(encoded, new byte[8], out var written));
        Assert.Equal(5, written);
    }

    private static void AssertRoundTrip(byte[] input)
    {
        var encoded = HuffmanEncode(input);
        var destination = new byte[input.Length];

        Assert.True(HPackHuffman.TryDecode(encoded, destination, out var written));

        Assert.Equal(input.Length, written);
        Assert.Equal(input, destination);
        Assert.Equal(input.Length, HPackHuffman.GetDecodedLength(encoded));
    }
}
