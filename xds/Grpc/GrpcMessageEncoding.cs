using System.Buffers;
using System.Text;

namespace Herald.Xds.Grpc;

/// <summary>
/// Percent-encoding of the <c>grpc-message</c> header (gRPC over HTTP/2 spec): the UTF-8
/// bytes of the message, with every byte outside 0x20-0x7E, and '%' itself, written as
/// <c>%XX</c>. Decoding is lenient, as the spec asks: a malformed escape is kept as-is.
/// </summary>
public static class GrpcMessageEncoding
{
    private const string Hex = "0123456789ABCDEF";

    public static string Encode(string message)
    {
        var i = 0;
        while (i < message.Length && IsUnreserved(message[i]))
        {
            i++;
        }

        if (i == message.Length)
        {
            return message;
        }

        var utf8 = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(utf8.Length + 16);
        foreach (var b in utf8)
        {
            if (IsUnreserved((char)b))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
            }
        }

        return builder.ToString();
    }

    public static string Decode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        // Each char of the header is one byte (HTTP header values are Latin-1 on the wire).
        var rented = ArrayPool<byte>.Shared.Rent(value.Length);
        try
        {
            var length = 0;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out var high) && TryHex(value[i + 2], out var low))
                {
                    rented[length++] = (byte)((high << 4) | low);
                    i += 2;
                }
                else
                {
                    rented[length++] = (byte)c;
                }
            }

            return Encoding.UTF8.GetString(rented, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool IsUnreserved(char c) => c is >= ' ' and <= '~' and not '%';

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
