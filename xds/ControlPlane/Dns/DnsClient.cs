using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Xds.ControlPlane.Dns;

/// <summary>
/// A minimal DNS stub client (RFC 1035): one question per query over UDP to one server, over
/// TCP when the answer is truncated; answers A, AAAA and SRV records with their TTLs. Every
/// wait is bounded by the timeout; a server failure, a refusal or no answer throws
/// <see cref="DnsException"/> (a name that does not exist is an empty answer, not a failure).
/// </summary>
public sealed class DnsClient(IPEndPoint server, TimeSpan timeout)
{
    public const ushort TypeA = 1;
    public const ushort TypeAaaa = 28;
    public const ushort TypeSrv = 33;

    private const int MaxUdpAnswer = 4096;
    private const int MaxTcpAnswer = 65535;
    private const int MaxNameJumps = 64;

    public IPEndPoint Server { get; } = server ?? throw new ArgumentNullException(nameof(server));

    /// <summary>The first <c>nameserver</c> of /etc/resolv.conf, port 53; 127.0.0.1:53 when none is listed.</summary>
    public static IPEndPoint SystemServer(string resolvConf = "/etc/resolv.conf")
    {
        try
        {
            foreach (var line in File.ReadLines(resolvConf))
            {
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["nameserver", var address, ..] && IPAddress.TryParse(address, out var ip))
                {
                    return new IPEndPoint(ip, 53);
                }
            }
        }
        catch (IOException)
        {
        }

        return new IPEndPoint(IPAddress.Loopback, 53);
    }

    /// <summary>Asks for records of <paramref name="type"/> at <paramref name="name"/>; the answer section's records of that type.</summary>
    public async Task<IReadOnlyList<DnsRecord>> QueryAsync(string name, ushort type, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var id = (ushort)Random.Shared.Next(ushort.MaxValue + 1);
        var query = BuildQuery(id, name, type);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var answer = await UdpAsync(query, id, deadline.Token).ConfigureAwait(false);
            if ((answer[2] & 0x02) != 0)
            {
                answer = await TcpAsync(query, deadline.Token).ConfigureAwait(false);
            }

            return Parse(answer, id, name, type);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DnsException($"{Server} did not answer {name} ({TypeName(type)}) within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            throw new DnsException($"{Server} cannot be asked for {name}: {e.Message}");
        }
    }

    internal static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var buffer = new List<byte>(32 + name.Length);
        buffer.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            if (bytes.Length is 0 or > 63)
            {
                throw new DnsException($"'{name}' is not a DNS name");
            }

            buffer.Add((byte)bytes.Length);
            buffer.AddRange(bytes);
        }

        buffer.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]); // class IN
        return [.. buffer];
    }

    internal static IReadOnlyList<DnsRecord> Parse(byte[] message, ushort id, string name, ushort type)
    {
        if (message.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(message) != id || (message[2] & 0x80) == 0)
        {
            throw new DnsException($"a malformed or unrelated answer came for {name}");
        }

        var rcode = message[3] & 0x0f;
        if (rcode == 3)
        {
            return []; // NXDOMAIN: the name is gone, so are its instances.
        }

        if (rcode != 0)
        {
            throw new DnsException($"the server answered {name} ({TypeName(type)}) with {RcodeName(rcode)}");
        }

        var questions = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(4));
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(6));
        var offset = 12;
        try
        {
            for (var q = 0; q < questions; q++)
            {
                ReadName(message, ref offset);
                offset += 4;
            }

            var records = new List<DnsRecord>(answers);
            for (var a = 0; a < answers; a++)
            {
                ReadName(message, ref offset);
                var recordType = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset));
                var ttl = BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(offset + 4));
                var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 8));
                var data = offset + 10;
                offset = data + length;
                if (offset > message.Length || recordType != type)
                {
                    continue;
                }

                var ttlSpan = TimeSpan.FromSeconds(Math.Min(ttl, int.MaxValue));
                switch (recordType)
                {
                    case TypeA when length == 4:
                    case TypeAaaa when length == 16:
                        records.Add(new DnsRecord(recordType, ttlSpan, new IPAddress(message.AsSpan(data, length)), 0, null));
                        break;
                    case TypeSrv when length > 6:
                        var port = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(data + 4));
                        var target = data + 6;
                        records.Add(new DnsRecord(recordType, ttlSpan, null, port, ReadName(message, ref target)));
                        break;
                }
            }

            return records;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or ArgumentException)
        {
            throw new DnsException($"the answer for {name} is cut short");
        }
    }

    private static string ReadName(byte[] message, ref int offset)
    {
        var labels = new List<string>();
        var position = offset;
        var jumped = false;
        for (var jumps = 0; ; )
        {
            var length = message[position];
            if (length == 0)
            {
                position++;
                break;
            }

            if ((length & 0xc0) == 0xc0)
            {
                if (++jumps > MaxNameJumps)
                {
                    throw new DnsException("a compressed name loops");
                }

                var pointer = ((length & 0x3f) << 8) | message[position + 1];
                if (!jumped)
                {
                    offset = position + 2;
                }

                jumped = true;
                position = pointer;
                continue;
            }

            labels.Add(Encoding.ASCII.GetString(message, position + 1, length));
            position += 1 + length;
        }

        if (!jumped)
        {
            offset = position;
        }

        return string.Join('.', labels);
    }

    private static string TypeName(ushort type) => type switch
    {
        TypeA => "A",
        TypeAaaa => "AAAA",
        TypeSrv => "SRV",
        _ => type.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string RcodeName(int rcode) => rcode switch
    {
        1 => "FORMERR",
        2 => "SERVFAIL",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => $"rcode {rcode}",
    };

    private async Task<byte[]> UdpAsync(byte[] query, ushort id, CancellationToken cancellationToken)
    {
        using var socket = new Socket(Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(Server, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxUdpAnswer];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);

            // A late answer to an earlier query on a reused port is not ours: wait for ours.
            if (received >= 12 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id)
            {
                return buffer[..received];
            }
        }
    }

    private async Task<byte[]> TcpAsync(byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(Server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(Server, cancellationToken).ConfigureAwait(false);
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var prefix = new byte[2];
        await ReceiveExactlyAsync(socket, prefix, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        var answer = new byte[Math.Min((int)length, MaxTcpAnswer)];
        await ReceiveExactlyAsync(socket, answer, cancellationToken).ConfigureAwait(false);
        return answer;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new DnsException("the server closed the TCP connection mid-answer");
            }

            read += n;
        }
    }
}

/// <summary>One answer record: an address (A, AAAA) or a port and target (SRV).</summary>
public sealed record DnsRecord(ushort Type, TimeSpan Ttl, IPAddress? Address, int Port, string? Target);

/// <summary>The DNS server failed, refused, or did not answer in time.</summary>
public sealed class DnsException(string message) : Exception(message);
