using System.Buffers;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// Bytes of whole frames waiting to be sent on one connection. Writers append under the
/// connection's write lock; the buffer is rented and grows as needed, and goes back to the
/// pool when a connection closes with no send under way.
/// </summary>
internal sealed class FrameBuffer
{
    private const int InitialSize = 16 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);

    public int Length { get; set; }

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, Length);

    public Span<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    /// <summary>At least <paramref name="size"/> bytes after the written ones; <see cref="Advance"/> what was used.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - Length < size)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Length + size));
            _buffer.AsSpan(0, Length).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }

        return _buffer.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    /// <summary>Makes room for <paramref name="count"/> bytes at <paramref name="offset"/> (frame headers of a split header block).</summary>
    public void Insert(int offset, int count)
    {
        GetSpan(count);
        _buffer.AsSpan(offset, Length - offset).CopyTo(_buffer.AsSpan(offset + count));
        Length += count;
    }

    public void Release()
    {
        Length = 0;
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A buffer grown by a burst goes back to the pool once it is drained.</summary>
    public void TrimIfLarge()
    {
        if (Length == 0 && _buffer.Length > 4 * InitialSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        }
    }
}
