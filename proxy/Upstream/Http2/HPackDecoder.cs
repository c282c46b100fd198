using System.Diagnostics;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) for one HTTP/2 connection; not thread-safe. Literal
/// strings reach the sink as slices of the block, Huffman strings as slices of a scratch buffer
/// the decoder owns, indexed fields as slices of the static or dynamic table: nothing is
/// allocated per field once the buffers have grown to the connection's needs.
/// </summary>
internal sealed class HPackDecoder
{
    // RFC 7541 4.1: each entry costs its name and value octets plus this overhead.
    private const int EntryOverhead = 32;

    // A 31-bit integer needs at most 5 continuation octets after the prefix.
    private const int MaxIntegerContinuationOctets = 5;

    private readonly int _maxDynamicTableSize;
    private readonly int _maxHeaderListSize;

    // Huffman-decoded strings never need more than this: anything longer is over the header list
    // bound (so never shown) and too large for the dynamic table (so never kept).
    private readonly int _scratchLimit;

    // Dynamic table entries, newest at _newest, circular. Each entry is a slice of _bytes holding
    // name then value. Live entries lie contiguously in _bytes[_start.._end] in insertion order;
    // _bytes is twice the largest table so that compacting once in a while always makes room.
    private readonly Entry[] _entries;
    private readonly byte[] _bytes;
    private int _newest = -1;
    private int _count;
    private int _start;
    private int _end;
    private int _size;
    private int _maxSize;

    private byte[] _scratch = [];

    public HPackDecoder(int maxDynamicTableSize = 4096, int maxHeaderListSize = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDynamicTableSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHeaderListSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDynamicTableSize, int.MaxValue / 4);
        _maxDynamicTableSize = maxDynamicTableSize;
        _maxHeaderListSize = maxHeaderListSize;
        _maxSize = maxDynamicTableSize;
        _scratchLimit = Math.Max(maxHeaderListSize, maxDynamicTableSize);
        _entries = new Entry[(maxDynamicTableSize / EntryOverhead) + 1];
        _bytes = new byte[2 * maxDynamicTableSize];
    }

    /// <summary>The dynamic table's size as RFC 7541 counts it (octets plus 32 per entry).</summary>
    public int DynamicTableSize => _size;

    public int DynamicTableCount => _count;

    /// <summary>
    /// Decodes one complete header block, calling <paramref name="sink"/> for each field in order.
    /// Returns false when the header list exceeds the bound: the sink then stops receiving fields,
    /// but the whole block is still decoded so the dynamic table stays in step with the peer.
    /// Throws <see cref="HPackDecodingException"/> for malformed input; the decoder is unusable after.
    /// </summary>
    public bool Decode(ReadOnlySpan<byte> block, IHPackHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        long listSize = 0;
        var withinBound = true;
        var fieldSeen = false;
        var pos = 0;
        while (pos < block.Length)
        {
            var first = block[pos];
            if ((first & 0x80) != 0)
            {
                // Indexed header field (6.1).
                var index = ReadInteger(block, ref pos, 7);
                if (index == 0)
                {
                    throw new HPackDecodingException("HPACK: indexed header field with index 0");
                }

                fieldSeen = true;
                var name = GetName(index, out var entry);
                var value = index <= HPackStaticTable.Count ? HPackStaticTable.Value(index) : EntryValue(entry);
                withinBound = Emit(sink, name, name.Length, value, value.Length, withinBound, ref listSize);
                continue;
            }

            if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (6.3): only before the first field of a block (4.2).
                if (fieldSeen)
                {
                    throw new HPackDecodingException("HPACK: dynamic table size update after a header field");
                }

                var newSize = ReadInteger(block, ref pos, 5);
                if (newSize > _maxDynamicTableSize)
                {
                    throw new HPackDecodingException($"HPACK: dynamic table size update to {newSize} exceeds the advertised {_maxDynamicTableSize}");
                }

                _maxSize = newSize;
                EvictTo(newSize);
                continue;
            }

            // Literal header field (6.2): with incremental indexing (01), never indexed (0001) or
            // without indexing (0000).
            fieldSeen = true;
            var indexing = (first & 0xC0) == 0x40;
            var nameIndex = ReadInteger(block, ref pos, indexing ? 6 : 4);
            var scratchUsed = 0;
            ReadOnlySpan<byte> literalName;
            int nameLength;
            if (nameIndex == 0)
            {
                literalName = ReadString(block, ref pos, ref scratchUsed, out nameLength);
            }
            else
            {
                literalName = GetName(nameIndex, out _);
                nameLength = literalName.Length;
                if (indexing && nameIndex > HPackStaticTable.Count)
                {
                    // Inserting may evict or move the entry this name lives in (RFC 7541 4.4). The
                    // byte buffer's layout happens to keep the old bytes intact, but a copy does not
                    // rely on that.
                    literalName = CopyToScratch(literalName, ref scratchUsed);
                }
            }

            var literalValue = ReadString(block, ref pos, ref scratchUsed, out var valueLength);
            withinBound = Emit(sink, literalName, nameLength, literalValue, valueLength, withinBound, ref listSize);
            if (indexing)
            {
                Insert(literalName, nameLength, literalValue, valueLength);
            }
        }

        return withinBound;
    }

    private bool Emit(IHPackHeaderSink sink, ReadOnlySpan<byte> name, int nameLength, ReadOnlySpan<byte> value, int valueLength, bool withinBound, ref long listSize)
    {
        listSize += (long)nameLength + valueLength + EntryOverhead;
        if (!withinBound || listSize > _maxHeaderListSize)
        {
            return false;
        }

        // Within the bound, both strings were kept (see ReadString).
        Debug.Assert(name.Length == nameLength && value.Length == valueLength, "a field within the header list bound has both strings");
        sink.OnHeader(name, value);
        return true;
    }

    /// <summary>The name at a wire index; <paramref name="entry"/> is set for a dynamic one.</summary>
    private ReadOnlySpan<byte> GetName(int index, out Entry entry)
    {
        if (index <= HPackStaticTable.Count)
        {
            entry = default;
            return HPackStaticTable.Name(index);
        }

        var dynamicIndex = index - HPackStaticTable.Count - 1;
        if (dynamicIndex >= _count)
        {
            throw new HPackDecodingException($"HPACK: index {index} is beyond the static and dynamic tables ({HPackStaticTable.Count + _count} entries)");
        }

        var slot = _newest - dynamicIndex;
        if (slot < 0)
        {
            slot += _entries.Length;
        }

        entry = _entries[slot];
        return _bytes.AsSpan(entry.Offset, entry.NameLength);
    }

    private ReadOnlySpan<byte> EntryValue(Entry entry) =>
        _bytes.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength);

    /// <summary>
    /// Reads a string literal (5.2). <paramref name="length"/> is its decoded length; the span is
    /// empty instead when a Huffman string is too long to keep, which the callers treat as over
    /// both the header list bound and the dynamic table.
    /// </summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int pos, scoped ref int scratchUsed, out int length)
    {
        if (pos >= block.Length)
        {
            throw new HPackDecodingException("HPACK: header block ends before a string literal");
        }

        var huffman = (block[pos] & 0x80) != 0;
        var encodedLength = ReadInteger(block, ref pos, 7);
        if (encodedLength > block.Length - pos)
        {
            throw new HPackDecodingException($"HPACK: string literal of {encodedLength} octets runs past the end of the header block");
        }

        var encoded = block.Slice(pos, encodedLength);
        pos += encodedLength;
        if (!huffman)
        {
            length = encodedLength;
            return encoded;
        }

        // Every code is at least 5 bits, which bounds the decoded length.
        var bound = (int)(((long)encodedLength * 8) / 5);
        var room = _scratchLimit - scratchUsed;
        if (bound > room)
        {
            // Rare: count before deciding whether to keep it.
            bound = HPackHuffman.GetDecodedLength(encoded);
            if (bound > room)
            {
                length = bound;
                return [];
            }
        }

        EnsureScratch(scratchUsed + bound);
        var destination = _scratch.AsSpan(scratchUsed, bound);
        if (!HPackHuffman.TryDecode(encoded, destination, out length))
        {
            throw new UnreachableException("The Huffman bound was too small.");
        }

        scratchUsed += length;
        return destination[..length];
    }

    private ReadOnlySpan<byte> CopyToScratch(ReadOnlySpan<byte> source, scoped ref int scratchUsed)
    {
        EnsureScratch(scratchUsed + source.Length);
        var destination = _scratch.AsSpan(scratchUsed, source.Length);
        source.CopyTo(destination);
        scratchUsed += source.Length;
        return destination;
    }

    private void EnsureScratch(int needed)
    {
        if (needed <= _scratch.Length)
        {
            return;
        }

        // Grow geometrically but never past the limit: a field beyond it is never kept. Nothing
        // is copied: a name decoded earlier in this field stays valid in the old array.
        _scratch = new byte[Math.Min(Math.Max(needed, Math.Max(256, _scratch.Length * 2)), _scratchLimit)];
    }

    /// <summary>Decodes an integer with an N-bit prefix (5.1) at <paramref name="pos"/>.</summary>
    private static int ReadInteger(ReadOnlySpan<byte> block, ref int pos, int prefixBits)
    {
        if (pos >= block.Length)
        {
            throw new HPackDecodingException("HPACK: header block ends inside an integer");
        }

        var mask = (1 << prefixBits) - 1;
        var value = block[pos++] & mask;
        if (value < mask)
        {
            return value;
        }

        long result = value;
        for (var i = 0; i < MaxIntegerContinuationOctets; i++)
        {
            if (pos >= block.Length)
            {
                throw new HPackDecodingException("HPACK: header block ends inside an integer");
            }

            var octet = block[pos++];
            result += (long)(octet & 0x7F) << (7 * i);
            if (result > int.MaxValue)
            {
                throw new HPackDecodingException("HPACK: integer does not fit in 31 bits");
            }

            if ((octet & 0x80) == 0)
            {
                return (int)result;
            }
        }

        throw new HPackDecodingException($"HPACK: integer longer than {MaxIntegerContinuationOctets} continuation octets");
    }

    private void Insert(ReadOnlySpan<byte> name, int nameLength, ReadOnlySpan<byte> value, int valueLength)
    {
        var entrySize = (long)nameLength + valueLength + EntryOverhead;
        if (entrySize > _maxSize)
        {
            // An entry larger than the table empties it and is not added (4.4).
            EvictTo(0);
            return;
        }

        // Within the table, both strings were kept (see ReadString).
        Debug.Assert(name.Length == nameLength && value.Length == valueLength, "an entry that fits the table has both strings");
        EvictTo(_maxSize - (int)entrySize);

        var length = nameLength + valueLength;
        if (_bytes.Length - _end < length)
        {
            Compact();
        }

        name.CopyTo(_bytes.AsSpan(_end));
        value.CopyTo(_bytes.AsSpan(_end + nameLength));
        _newest = _newest + 1 == _entries.Length ? 0 : _newest + 1;
        _entries[_newest] = new Entry(_end, nameLength, valueLength);
        _end += length;
        _count++;
        _size += (int)entrySize;
    }

    /// <summary>
    /// Moves the live entries to the front of the byte buffer. The live octets are at most the
    /// table size minus the new entry, so afterwards at least the table size plus the new entry
    /// is free at the end; each compaction follows at least a table's worth of insertions.
    /// </summary>
    private void Compact()
    {
        var shift = _start;
        _bytes.AsSpan(_start, _end - _start).CopyTo(_bytes);
        for (var i = 0; i < _count; i++)
        {
            var slot = _newest - i;
            if (slot < 0)
            {
                slot += _entries.Length;
            }

            _entries[slot].Offset -= shift;
        }

        _start = 0;
        _end -= shift;
    }

    private void EvictTo(int size)
    {
        while (_size > size)
        {
            var oldest = _newest - _count + 1;
            if (oldest < 0)
            {
                oldest += _entries.Length;
            }

            var entry = _entries[oldest];
            _size -= entry.NameLength + entry.ValueLength + EntryOverhead;
            _count--;
            _start = entry.Offset + entry.NameLength + entry.ValueLength;
        }

        if (_count == 0)
        {
            _start = 0;
            _end = 0;
        }
    }

    private struct Entry(int offset, int nameLength, int valueLength)
    {
        public int Offset = offset;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }
}
