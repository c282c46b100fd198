using System.Net.Sockets;

namespace Herald.Tests.Tcp;

internal static class SocketIo
{
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None)..];
        }
    }

    /// <summary>Reads until the peer's end of stream.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        var result = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                return result.ToArray();
            }

            result.Write(buffer, 0, n);
        }
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException($"end of stream after {read} of {count} bytes");
            }

            read += n;
        }

        return buffer;
    }
}
