using System.Text;
using Herald.Proxy.Upstream.Http2;

namespace Herald.Tests.Upstream.Http2;

/// <summary>Hex input, a small HPACK encoder and a recording sink for the HPACK tests.</summary>
internal static class HPackTestData
{
    /// <summary>Hex as the RFC prints it: spaces and line breaks ignored.</summary>
    public static byte[] Hex(string hex) =>
        Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal));

    public static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Huffman-encodes with the decoder's own code table, padding with ones.</summary>
    public static byte[] HuffmanEncode(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>();
        ulong bits = 0;
        var pending = 0;
        foreach (var symbol in input)
        {
            bits = (bits << HPackHuffman.CodeLengths[symbol]) | HPackHuffman.Codes[symbol];
            pending += HPackHuffman.CodeLengths[symbol];
            while (pending >= 8)
            {
                pending -= 8;
                output.Add((byte)(bits >> pending));
            }
        }

        if (pending > 0)
        {
            output.Add((byte)((bits << (8 - pending)) | (0xFFu >> pending)));
        }

        return [.. output];
    }

    /// <summary>An integer with an N-bit prefix (RFC 7541 5.1); <paramref name="flags"/> fills the bits above it.</summary>
    public static void Integer(List<byte> block, byte flags, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(flags | value));
            return;
        }

        block.Add((byte)(flags | max));
        value -= max;
        while (value >= 0x80)
        {
            block.Add((byte)(0x80 | (value & 0x7F)));
            value >>= 7;
        }

        block.Add((byte)value);
    }

    public static void String(List<byte> block, string text, bool huffman = false)
    {
        var bytes = Latin1(text);
        if (huffman)
        {
            bytes = HuffmanEncode(bytes);
        }

        Integer(block, huffman ? (byte)0x80 : (byte)0, 7, bytes.Length);
        block.AddRange(bytes);
    }

    /// <summary>A literal with incremental indexing and a new name.</summary>
    public static void Indexed(List<byte> block, string name, string value, bool huffman = false)
    {
        block.Add(0x40);
        String(block, name, huffman);
        String(block, value, huffman);
    }

    /// <summary>The dynamic table, newest first, read back through indexed fields (which change nothing).</summary>
    public static List<(string Name, string Value)> DynamicTable(HPackDecoder decoder)
    {
        var block = new List<byte>();
        for (var i = 0; i < decoder.DynamicTableCount; i++)
        {
            Integer(block, 0x80, 7, HPackStaticTable.Count + 1 + i);
        }

        var sink = new RecordingSink();
        var sizeBefore = decoder.DynamicTableSize;
        if (!decoder.Decode([.. block], sink) || decoder.DynamicTableSize != sizeBefore)
        {
            throw new InvalidOperationException("Reading the dynamic table back changed it or exceeded the header list bound.");
        }

        return sink.Fields;
    }
}

/// <summary>Records each field as Latin-1 strings.</summary>
internal sealed class RecordingSink : IHPackHeaderSink
{
    public List<(string Name, string Value)> Fields { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
}

/// <summary>Counts fields and octets without allocating, for the allocation test.</summary>
internal sealed class CountingSink : IHPackHeaderSink
{
    public int Fields { get; private set; }

    public long Octets { get; private set; }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Fields++;
        Octets += name.Length + value.Length;
    }
}
