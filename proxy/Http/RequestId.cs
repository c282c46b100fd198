namespace Herald.Proxy.Http;

/// <summary>
/// Writes a random UUID (version 4) as 36 ASCII bytes without allocating. Request ids need
/// to be unique, not unpredictable, so a per-thread xorshift generator seeded from the
/// system's cryptographic source replaces a system call per request.
/// </summary>
internal static class RequestId
{
    public const int Length = 36;

    [ThreadStatic]
    private static ulong _state0;

    [ThreadStatic]
    private static ulong _state1;

    public static void Write(Span<byte> destination)
    {
        Span<byte> random = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(random, Next());
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(random[8..], Next());
        random[6] = (byte)((random[6] & 0x0F) | 0x40);
        random[8] = (byte)((random[8] & 0x3F) | 0x80);
        var position = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                destination[position++] = (byte)'-';
            }

            destination[position++] = Hex[random[i] >> 4];
            destination[position++] = Hex[random[i] & 0xF];
        }
    }

    /// <summary>A new request id as a string (for HTTP/2 requests, whose headers are strings).</summary>
    public static string NewString() => string.Create(Length, 0, static (chars, _) =>
    {
        Span<byte> ascii = stackalloc byte[Length];
        Write(ascii);
        System.Text.Encoding.ASCII.GetChars(ascii, chars);
    });

    /// <summary>xorshift128+.</summary>
    private static ulong Next()
    {
        if ((_state0 | _state1) == 0)
        {
            // A GUID's 122 random bits come from the system's cryptographic source through the
            // runtime itself; RandomNumberGenerator would load OpenSSL (3 MB resident) for this.
            Span<byte> seed = stackalloc byte[16];
            Guid.NewGuid().TryWriteBytes(seed);
            _state0 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(seed) | 1;
            _state1 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(seed[8..]);
        }

        var s1 = _state0;
        var s0 = _state1;
        _state0 = s0;
        s1 ^= s1 << 23;
        _state1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        return _state1 + s0;
    }

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;
}
