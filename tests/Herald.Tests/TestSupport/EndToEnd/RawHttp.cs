using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>A raw TCP connection for hand-written HTTP/1.1 bytes (malformed requests, framing checks).</summary>
public sealed class RawHttp : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private RawHttp(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RawHttp> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port).WaitAsync(TimeSpan.FromSeconds(5));
        return new RawHttp(client);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Reads until the end of the response head (CRLF CRLF); returns it (Latin-1).</summary>
    public async Task<string> ReadHeadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await _stream.ReadAsync(one, cts.Token);
            if (read == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    /// <summary>
    /// Reads one response to a request that has a body (not HEAD): the head, then the body
    /// framed by Content-Length or chunked encoding (trailers are read and dropped).
    /// </summary>
    public async Task<(string Head, string Body)> ReadResponseAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var head = await ReadHeadAsync(limit);
        var body = new StringBuilder();
        var lengthMatch = System.Text.RegularExpressions.Regex.Match(head, @"(?im)^content-length:\s*(\d+)\s*$");
        if (lengthMatch.Success)
        {
            var length = int.Parse(lengthMatch.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            body.Append(Encoding.Latin1.GetString(await ReadExactlyAsync(length, limit)));
        }
        else if (System.Text.RegularExpressions.Regex.IsMatch(head, @"(?im)^transfer-encoding:.*chunked"))
        {
            while (true)
            {
                var sizeLine = await ReadLineAsync(limit);
                var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0)
                {
                    while ((await ReadLineAsync(limit)).Length > 0)
                    {
                        // Trailer lines.
                    }

                    break;
                }

                body.Append(Encoding.Latin1.GetString(await ReadExactlyAsync(size, limit)));
                await ReadLineAsync(limit);
            }
        }

        return (head, body.ToString());
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactlyAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[count];
        await _stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }

    /// <summary>
    /// Reads until the peer closes (returns everything read, Latin-1, and true) or until
    /// <paramref name="timeout"/> passes with the connection still open (returns false).
    /// A reset counts as closed.
    /// </summary>
    public async Task<(string Text, bool Closed)> ReadToCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var all = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    return (Encoding.Latin1.GetString(all.ToArray()), true);
                }

                all.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            return (Encoding.Latin1.GetString(all.ToArray()), false);
        }
        catch (IOException)
        {
            return (Encoding.Latin1.GetString(all.ToArray()), true);
        }
    }

    private async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var line = new StringBuilder();
        var one = new byte[1];
        while (!line.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one, cts.Token) == 0)
            {
                throw new EndOfStreamException($"connection closed inside a chunked body after '{line}'");
            }

            line.Append((char)one[0]);
        }

        return line.ToString(0, line.Length - 2);
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
