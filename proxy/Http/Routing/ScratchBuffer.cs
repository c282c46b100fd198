using System.Buffers;

namespace Herald.Proxy.Http.Routing;

/// <summary>A pooled byte buffer for the rare match that needs bytes joined (<c>:path</c> with its query).</summary>
internal ref struct ScratchBuffer
{
    private byte[]? _rented;

    public Span<byte> Get(int length)
    {
        if (_rented is null || _rented.Length < length)
        {
            Dispose();
            _rented = ArrayPool<byte>.Shared.Rent(length);
        }

        return _rented.AsSpan(0, length);
    }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
