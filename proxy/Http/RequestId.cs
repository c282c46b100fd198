namespace Herald.Proxy.Http;

/// <summary>Writes a random UUID (version 4) as 36 ASCII bytes without allocating.</summary>
internal static class RequestId
{
    public const int Length = 36;

    public static void Write(Span<byte> destination)
    {
        Span<byte> random = stackalloc byte[16];
        System.Security.Cryptography.RandomNumberGenerator.Fill(random);
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

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;
}
