using Herald.Proxy.Upstream.Http2;
using Xunit;
using static Herald.Tests.Upstream.Http2.HPackTestData;

namespace Herald.Tests.Upstream.Http2;

public sealed class HPackDecoderTests
{
    private const string SetCookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    private static readonly (string, string)[] FirstRequest =
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];

    private static readonly (string, string)[] SecondRequest = [.. FirstRequest, ("cache-control", "no-cache")];

    private static readonly (string, string)[] ThirdRequest =
        [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")];

    private static readonly (string, string)[] FirstResponse =
        [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] SecondResponse =
        [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] ThirdResponse =
    [
        (":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"), ("content-encoding", "gzip"), ("set-cookie", SetCookie),
    ];

    [Fact]
    public void Decode_C21LiteralWithIndexing_AddsToTable()
    {
        var decoder = new HPackDecoder();

        var fields = DecodeOk(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");

        Assert.Equal([("custom-key", "custom-header")], fields);
        AssertTable(decoder, 55, ("custom-key", "custom-header"));
    }

    [Fact]
    public void Decode_C22LiteralWithoutIndexing_LeavesTableEmpty()
    {
        var decoder = new HPackDecoder();

        var fields = DecodeOk(decoder, "040c 2f73 616d 706c 652f 7061 7468");

        Assert.Equal([(":path", "/sample/path")], fields);
        AssertTable(decoder, 0);
    }

    [Fact]
    public void Decode_C23LiteralNeverIndexed_LeavesTableEmpty()
    {
        var decoder = new HPackDecoder();

        var fields = DecodeOk(decoder, "1008 7061 7373 776f 7264 0673 6563 7265 74");

        Assert.Equal([("password", "secret")], fields);
        AssertTable(decoder, 0);
    }

    [Fact]
    public void Decode_C24Indexed_ReturnsStaticEntry()
    {
        var decoder = new HPackDecoder();

        Assert.Equal([(":method", "GET")], DecodeOk(decoder, "82"));
        AssertTable(decoder, 0);
    }

    [Fact]
    public void Decode_C3RequestsWithoutHuffman_TracksTable()
    {
        var decoder = new HPackDecoder();

        Assert.Equal(FirstRequest, DecodeOk(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
        AssertTable(decoder, 57, (":authority", "www.example.com"));

        Assert.Equal(SecondRequest, DecodeOk(decoder, "8286 84be 5808 6e6f 2d63 6163 6865"));
        AssertTable(decoder, 110, ("cache-control", "no-cache"), (":authority", "www.example.com"));

        Assert.Equal(ThirdRequest, DecodeOk(decoder, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"));
        AssertTable(decoder, 164, ("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com"));
    }

    [Fact]
    public void Decode_C4RequestsWithHuffman_TracksTable()
    {
        var decoder = new HPackDecoder();

        Assert.Equal(FirstRequest, DecodeOk(decoder, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        AssertTable(decoder, 57, (":authority", "www.example.com"));

        Assert.Equal(SecondRequest, DecodeOk(decoder, "8286 84be 5886 a8eb 1064 9cbf"));
        AssertTable(decoder, 110, ("cache-control", "no-cache"), (":authority", "www.example.com"));

        Assert.Equal(ThirdRequest, DecodeOk(decoder, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"));
        AssertTable(decoder, 164, ("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com"));
    }

    [Fact]
    public void Decode_C5ResponsesWithoutHuffman_EvictsFromSmallTable()
    {
        var decoder = new HPackDecoder(maxDynamicTableSize: 256);

        Assert.Equal(FirstResponse, DecodeOk(decoder, """
            4803 3330 3258 0770 7269 7661 7465 611d
            4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768
            7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d
            """));
        AssertTable(decoder, 222, ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"), (":status", "302"));

        Assert.Equal(SecondResponse, DecodeOk(decoder, "4803 3330 37c1 c0bf"));
        AssertTable(decoder, 222, (":status", "307"), ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"));

        Assert.Equal(ThirdResponse, DecodeOk(decoder, """
            88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
            3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153
            444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61
            6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31
            """));
        AssertTable(decoder, 215, ("set-cookie", SetCookie), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"));
    }

    [Fact]
    public void Decode_C6ResponsesWithHuffman_EvictsFromSmallTable()
    {
        var decoder = new HPackDecoder(maxDynamicTableSize: 256);

        Assert.Equal(FirstResponse, DecodeOk(decoder, """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe
            9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
            e9ae 82ae 43d3
            """));
        AssertTable(decoder, 222, ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"), (":status", "302"));

        Assert.Equal(SecondResponse, DecodeOk(decoder, "4883 640e ffc1 c0bf"));
        AssertTable(decoder, 222, (":status", "307"), ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"));

        Assert.Equal(ThirdResponse, DecodeOk(decoder, """
            88c1 6196 d07a be94 1054 d444 a820 0595
            040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
            3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07
            """));
        AssertTable(decoder, 215, ("set-cookie", SetCookie), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"));
    }

    [Fact]
    public void Decode_EmptyBlock_ReturnsTrueWithNoFields()
    {
        Assert.Empty(DecodeOk(new HPackDecoder(), string.Empty));
    }

    [Fact]
    public void Decode_EveryStaticEntry_MatchesStaticTable()
    {
        var block = new List<byte>();
        for (var i = 1; i <= HPackStaticTable.Count; i++)
        {
            Integer(block, 0x80, 7, i);
        }

        var sink = new RecordingSink();
        Assert.True(new HPackDecoder().Decode([.. block], sink));

        Assert.Equal(61, sink.Fields.Count);
        Assert.Equal((":authority", ""), sink.Fields[0]);
        Assert.Equal(("accept-encoding", "gzip, deflate"), sink.Fields[15]);
        Assert.Equal(("www-authenticate", ""), sink.Fields[60]);
    }

    [Fact]
    public void StaticTable_Lookups_FindFirstNameInAnyCase()
    {
        Assert.Equal(8, HPackStaticTable.IndexOfName(":status"));
        Assert.Equal(61, HPackStaticTable.IndexOfName("www-authenticate"));
        Assert.Equal(0, HPackStaticTable.IndexOfName("x-custom"));
        Assert.Equal(31, HPackStaticTable.IndexOfName("Content-Type"));
        Assert.Equal("gzip, deflate"u8.ToArray(), HPackStaticTable.Value(16).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => HPackStaticTable.Name(0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => HPackStaticTable.Name(62).Length);
    }

    [Fact]
    public void Decode_LiteralsWithIndexedNames_UseStaticAndDynamicNames()
    {
        var decoder = new HPackDecoder();
        var block = new List<byte>();
        Indexed(block, "x-a", "1");
        block.Add(0x7E); // incremental indexing, name 62 (x-a)
        String(block, "2", huffman: true);
        block.Add(0x0F); // without indexing, name 63 (the first x-a, now second)
        block.Add(0x30);
        String(block, "3");
        block.Add(0x1F); // never indexed, name 62
        block.Add(0x2F);
        String(block, "4");
        block.Add(0x04); // without indexing, :path
        String(block, "/p", huffman: true);

        var fields = DecodeOk(decoder, block);

        Assert.Equal([("x-a", "1"), ("x-a", "2"), ("x-a", "3"), ("x-a", "4"), (":path", "/p")], fields);
        AssertTable(decoder, 72, ("x-a", "2"), ("x-a", "1"));
    }

    [Fact]
    public void Decode_IndexedNameEvictedByItsOwnInsertion_KeepsTheName()
    {
        // RFC 7541 4.4: the new entry may name an entry that adding it evicts.
        var decoder = new HPackDecoder(maxDynamicTableSize: 64);
        var block = new List<byte>();
        Indexed(block, "abc", "x"); // 36 octets
        block.Add(0x7E);            // incremental indexing, name 62: 3 + 28 + 32 = 63 octets, evicting 62
        String(block, new string('y', 28));

        DecodeOk(decoder, block);

        AssertTable(decoder, 63, ("abc", new string('y', 28)));
    }

    [Fact]
    public void Decode_EntryLargerThanTable_EmptiesTable()
    {
        var decoder = new HPackDecoder(maxDynamicTableSize: 100);
        var block = new List<byte>();
        Indexed(block, "a", "1");
        Indexed(block, "big", new string('v', 70)); // 105 octets

        var fields = DecodeOk(decoder, block);

        Assert.Equal(2, fields.Count);
        AssertTable(decoder, 0);
    }

    [Fact]
    public void Decode_SizeUpdateAtStart_ShrinksAndEvicts()
    {
        var decoder = new HPackDecoder();
        DecodeOk(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        DecodeOk(decoder, "8286 84be 5808 6e6f 2d63 6163 6865");

        // Two updates (to 60, then 100) then an indexed field: only the newest entry (53) survives.
        var block = new List<byte>();
        Integer(block, 0x20, 5, 60);
        Integer(block, 0x20, 5, 100);
        block.Add(0xBE);
        Assert.Equal([("cache-control", "no-cache")], DecodeOk(decoder, block));
        AssertTable(decoder, 53, ("cache-control", "no-cache"));

        // The table now holds at most 100: a second 53-octet entry evicts the first.
        DecodeOk(decoder, "5808 6e6f 2d63 6163 6866");
        AssertTable(decoder, 53, ("cache-control", "no-cachf"));

        // Back to 0 empties it; back up to the advertised maximum is allowed.
        DecodeOk(decoder, "20");
        AssertTable(decoder, 0);
        block.Clear();
        Integer(block, 0x20, 5, 4096);
        DecodeOk(decoder, block);
    }

    [Fact]
    public void Decode_HeaderListOverBound_ReturnsFalseAndKeepsTableInStep()
    {
        var decoder = new HPackDecoder(maxHeaderListSize: 100);
        var block = new List<byte>();
        Indexed(block, "a", "1");                  // 34: shown
        block.Add(0x00);                           // without indexing, new name: 32 + 1 + 70, over
        String(block, "b");
        String(block, new string('v', 70));
        Indexed(block, "c", "3", huffman: true);   // decoded and indexed, not shown
        var sink = new RecordingSink();

        Assert.False(decoder.Decode([.. block], sink));

        Assert.Equal([("a", "1")], sink.Fields);
        AssertTable(decoder, 68, ("c", "3"), ("a", "1"));
        Assert.Equal([("c", "3"), ("a", "1")], DecodeOk(decoder, "bebf"));
    }

    [Fact]
    public void Decode_HuffmanStringBeyondScratchLimit_CountedNotKeptAndTableEmptied()
    {
        // A 10000-octet Huffman value is past both bounds: it is validated and counted, and
        // indexing it empties the table as it does at the peer.
        var decoder = new HPackDecoder(maxDynamicTableSize: 256, maxHeaderListSize: 1000);
        var block = new List<byte>();
        Indexed(block, "a", "1");
        Indexed(block, "big", new string('a', 10_000), huffman: true);
        Indexed(block, "c", "3");
        var sink = new RecordingSink();

        Assert.False(decoder.Decode([.. block], sink));

        Assert.Equal([("a", "1")], sink.Fields);
        AssertTable(decoder, 34, ("c", "3"));
    }

    [Fact]
    public void Decode_HuffmanStringBeyondScratchLimitAndInvalid_Throws()
    {
        var decoder = new HPackDecoder(maxHeaderListSize: 1000);
        var encoded = HuffmanEncode(Latin1(new string('a', 10_001)));
        Assert.Equal(0x1F, encoded[^1]); // the last 'a' (00011), then 111 padding
        encoded[^1] = 0x18;              // padding 000: not all ones
        var block = new List<byte> { 0x40 };
        String(block, "big");
        Integer(block, 0x80, 7, encoded.Length);
        block.AddRange(encoded);

        Assert.Throws<HPackDecodingException>(() => decoder.Decode([.. block], new RecordingSink()));
    }

    [Theory]
    [InlineData(300, 120)]
    [InlineData(200, 12)]
    [InlineData(64, 30)]
    [InlineData(4096, 400)]
    public void Decode_ManyInsertionsWithEviction_MatchesModel(int tableSize, int maxValueLength)
    {
        // Exercises the entry ring, the byte buffer's compaction and names taken from entries
        // being evicted, against a plain list.
        var random = new Random(tableSize);
        var decoder = new HPackDecoder(maxDynamicTableSize: tableSize);
        var model = new List<(string Name, string Value)>();
        for (var round = 0; round < 1000; round++)
        {
            var block = new List<byte>();
            var expected = new List<(string, string)>();
            for (var i = 0; i < random.Next(1, 5); i++)
            {
                var value = new string((char)('a' + random.Next(26)), random.Next(0, maxValueLength));
                var huffman = random.Next(2) == 0;
                string name;
                if (model.Count > 0 && random.Next(2) == 0)
                {
                    // Name a dynamic entry, which this insertion may evict or move (RFC 7541 4.4).
                    var index = random.Next(model.Count);
                    name = model[index].Name;
                    Integer(block, 0x40, 6, HPackStaticTable.Count + 1 + index);
                    String(block, value, huffman);
                }
                else
                {
                    name = "n" + random.Next(1000);
                    Indexed(block, name, value, huffman);
                }

                expected.Add((name, value));
                model.Insert(0, (name, value));
                var size = 0;
                for (var k = 0; k < model.Count; k++)
                {
                    size += model[k].Name.Length + model[k].Value.Length + 32;
                    if (size > tableSize)
                    {
                        model.RemoveRange(k, model.Count - k);
                        break;
                    }
                }
            }

            Assert.Equal(expected, DecodeOk(decoder, block));
            Assert.Equal(model, DynamicTable(decoder));
        }
    }

    [Fact]
    public void Decode_SteadyState_DoesNotAllocate()
    {
        var decoder = new HPackDecoder();
        var blocks = new[]
        {
            Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
            Hex("8286 84be 5886 a8eb 1064 9cbf"),
            Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
            Hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"),
        };
        var sink = new CountingSink();
        for (var i = 0; i < 200; i++)
        {
            DecodeAll(decoder, blocks, sink);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            DecodeAll(decoder, blocks, sink);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sink.Fields > 0);
    }

    [Theory]
    [InlineData("80", "index 0")]                                   // indexed field, index 0
    [InlineData("be", "beyond")]                                    // index 62 with an empty table
    [InlineData("ff80 01", "beyond")]                               // index 255
    [InlineData("7e01 61", "beyond")]                               // literal naming index 62
    [InlineData("0f30 0161", "beyond")]                             // literal naming index 63
    [InlineData("ff ffff ffff 0f", "31 bits")]                      // index past int.MaxValue
    [InlineData("ff 8080 8080 8000", "continuation")]               // 6 continuation octets
    [InlineData("ff", "ends inside an integer")]                    // prefix full, no continuation
    [InlineData("ff80", "ends inside an integer")]                  // continuation bit, then nothing
    [InlineData("40", "ends before a string")]                      // literal without its name
    [InlineData("4001 61", "ends before a string")]                 // literal without its value
    [InlineData("4005 6162", "past the end")]                       // name longer than the block
    [InlineData("4001 617f 80ff ffff 07", "past the end")]          // value length near int.MaxValue
    [InlineData("4081 1801 61", "not all ones")]                    // Huffman name with 000 padding
    [InlineData("4001 6181 ff", "longer than 7 bits")]              // Huffman value of padding only
    [InlineData("4001 6185 1fff ffff ff", "EOS")]                   // Huffman value with EOS inside
    [InlineData("3fe2 1f", "exceeds")]                              // size update to 4097
    [InlineData("8220", "after a header field")]                    // size update after a field
    public void Decode_Malformed_Throws(string hex, string messagePart)
    {
        var error = Assert.Throws<HPackDecodingException>(() => new HPackDecoder().Decode(Hex(hex), new RecordingSink()));
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_IndexOneBeyondDynamicTable_Throws()
    {
        var decoder = new HPackDecoder();
        DecodeOk(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");

        Assert.Equal([(":authority", "www.example.com")], DecodeOk(decoder, "be"));
        Assert.Throws<HPackDecodingException>(() => decoder.Decode(Hex("bf"), new RecordingSink()));
    }

    [Fact]
    public void Decode_SizeUpdateOverSmallAdvertisedMaximum_Throws()
    {
        var decoder = new HPackDecoder(maxDynamicTableSize: 256);
        var block = new List<byte>();
        Integer(block, 0x20, 5, 257);

        Assert.Throws<HPackDecodingException>(() => decoder.Decode([.. block], new RecordingSink()));
    }

    private static List<(string, string)> DecodeOk(HPackDecoder decoder, string hex) => DecodeOk(decoder, Hex(hex));

    private static List<(string, string)> DecodeOk(HPackDecoder decoder, List<byte> block) => DecodeOk(decoder, block.ToArray());

    private static List<(string, string)> DecodeOk(HPackDecoder decoder, byte[] block)
    {
        var sink = new RecordingSink();
        Assert.True(decoder.Decode(block, sink));
        return sink.Fields;
    }

    private static void DecodeAll(HPackDecoder decoder, byte[][] blocks, CountingSink sink)
    {
        foreach (var block in blocks)
        {
            decoder.Decode(block, sink);
        }
    }

    private static void AssertTable(HPackDecoder decoder, int size, params (string, string)[] newestFirst)
    {
        Assert.Equal(size, decoder.DynamicTableSize);
        Assert.Equal(newestFirst.Length, decoder.DynamicTableCount);
        Assert.Equal(newestFirst, DynamicTable(decoder));
    }
}
