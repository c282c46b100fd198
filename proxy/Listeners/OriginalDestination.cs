using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Herald.Proxy.Listeners;

/// <summary>
/// Where an accepted connection was going before iptables redirected it: netfilter keeps it in
/// conntrack and returns it from <c>getsockopt(SOL_IP, SO_ORIGINAL_DST)</c> (IPv6:
/// <c>SOL_IPV6, IP6T_SO_ORIGINAL_DST</c>). Under TPROXY nothing was rewritten, so the socket's
/// local address is the original destination.
/// </summary>
internal static class OriginalDestination
{
    public const int SolIp = 0;
    public const int SolIpv6 = 41;
    public const int SoOriginalDst = 80;

    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    public static IPEndPoint? TryGet(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var v6 = socket.AddressFamily == AddressFamily.InterNetworkV6;
        Span<byte> buffer = stackalloc byte[28];
        int length;
        try
        {
            length = socket.GetRawSocketOption(v6 ? SolIpv6 : SolIp, SoOriginalDst, buffer);
        }
        catch (SocketException)
        {
            // ENOENT (no conntrack entry, no redirect) or ENOPROTOOPT: not redirected.
            // A dual-stack socket's IPv4-mapped peer answers only at SOL_IP.
            if (!v6)
            {
                return null;
            }

            try
            {
                length = socket.GetRawSocketOption(SolIp, SoOriginalDst, buffer);
            }
            catch (SocketException)
            {
                return null;
            }
        }

        return Parse(buffer[..length]);
    }

    /// <summary>Under TPROXY the listener is transparent and accepts for any address: its local end is the destination.</summary>
    public static IPEndPoint? FromTproxy(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return socket.LocalEndPoint as IPEndPoint;
    }

    /// <summary>Decodes a Linux <c>sockaddr_in</c> or <c>sockaddr_in6</c> (family in host order, port big-endian); null if malformed.</summary>
    public static IPEndPoint? Parse(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 2)
        {
            return null;
        }

        var family = BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) : BinaryPrimitives.ReadUInt16BigEndian(sockaddr);
        if (family == AfInet && sockaddr.Length >= 8)
        {
            var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
            return new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port);
        }

        if (family == AfInet6 && sockaddr.Length >= 24)
        {
            var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
            var scope = sockaddr.Length >= 28 ? BitConverter.ToUInt32(sockaddr[24..]) : 0;
            var address = new IPAddress(sockaddr.Slice(8, 16), scope);
            return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
        }

        return null;
    }
}
