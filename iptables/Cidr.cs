using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Herald.Iptables;

/// <summary>
/// A network prefix, kept masked (10.1.2.3/8 becomes 10.0.0.0/8) because that is how
/// iptables-save prints it, and the live rules are compared with the rendered ones as text.
/// </summary>
public sealed record Cidr(IPAddress Network, int PrefixLength)
{
    public IpFamily Family => Network.AddressFamily == AddressFamily.InterNetworkV6 ? IpFamily.V6 : IpFamily.V4;

    public override string ToString() => $"{Network}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <c>ADDR/LEN</c> or a bare address (a host prefix); null when malformed.</summary>
    public static Cidr? TryParse(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (addressText.Contains('%', StringComparison.Ordinal) || !IPAddress.TryParse(addressText, out var address))
        {
            return null;
        }

        // IPAddress also takes inet_aton shorthands ("10.0.0" or "10"); iptables users mean four octets.
        if (address.AddressFamily == AddressFamily.InterNetwork
            && (addressText.Split('.').Length != 4 || !addressText.All(c => char.IsAsciiDigit(c) || c == '.')))
        {
            return null;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        var length = bits;
        if (slash >= 0)
        {
            var lengthText = text[(slash + 1)..];
            if (lengthText.Length == 0 || lengthText.Length > 3 || !lengthText.All(char.IsAsciiDigit)
                || !int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > bits)
            {
                return null;
            }
        }

        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(length - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new Cidr(new IPAddress(bytes), length);
    }
}
