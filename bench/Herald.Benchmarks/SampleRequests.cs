using System.Buffers;
using System.Text;
using Herald.Proxy.Http.Http1;

namespace Herald.Benchmarks;

/// <summary>Request heads shared by the benchmarks: what browsers and curl send.</summary>
internal static class SampleRequests
{
    /// <summary>About 300 bytes, shaped like a browser's GET.</summary>
    public static readonly byte[] Browser = Encoding.ASCII.GetBytes(
        "GET /api/v1/orders/12345?expand=items HTTP/1.1\r\n" +
        "Host: shop.example.com\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\n" +
        "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br\r\n" +
        "Cookie: session=abc123def456; theme=dark\r\n" +
        "Connection: keep-alive\r\n" +
        "\r\n");

    /// <summary>What <c>curl http://api.example.com/health</c> sends.</summary>
    public static readonly byte[] Curl = Encoding.ASCII.GetBytes(
        "GET /health HTTP/1.1\r\n" +
        "Host: api.example.com\r\n" +
        "User-Agent: curl/8.5.0\r\n" +
        "Accept: */*\r\n" +
        "\r\n");

    /// <summary>Parses <paramref name="bytes"/> into a fresh head with Envoy's default limits (60 KiB, 100 headers).</summary>
    public static Http1RequestHead Parse(byte[] bytes)
    {
        var head = new Http1RequestHead(60 * 1024, 100);
        if (!head.TryParse(new ReadOnlySequence<byte>(bytes), out _) || head.Error != Http1ParseError.None)
        {
            throw new InvalidOperationException($"sample head does not parse: {head.Error}");
        }

        return head;
    }
}
