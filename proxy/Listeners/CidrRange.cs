using System.Net;
using System.Net.Sockets;

namespace Herald.Proxy.Listeners;

/// <summary>An address prefix (Envoy's <c>CidrRange</c>), such as 10.0.0.0/8 or fd00::/64.</summary>
internal sealed class CidrRange
{
    private readonly byte[] _network;

    public CidrRange(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var bits = plain.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, bits);
        PrefixLength = prefixLength;
        Family = plain.AddressFamily;
        _network = plain.GetAddressBytes();
        Mask(_network, prefixLength);
    }

    public int PrefixLength { get; }

    public AddressFamily Family { get; }

    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (plain.AddressFamily != Family)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!plain.TryWriteBytes(bytes, out var written) || written != _network.Length)
        {
            return false;
        }

        bytes = bytes[..written];
        Mask(bytes, PrefixLength);
        return bytes.SequenceEqual(_network);
    }

    public override string ToString() => $"{new IPAddress(_network)}/{PrefixLength}";

    private static void Mask(Span<byte> bytes, int prefixLength)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
    }
}
