using System.Buffers;
using System.Globalization;
using System.Text;
using Herald.Proxy.Http.Http1;
using Xunit;

namespace Herald.Tests.Http.Http1;

public sealed class Http1RequestHeadTests
{
    private static Http1RequestHead Parse(string text, out bool complete, int maxHeadBytes = 60 * 1024, int maxHeaders = 100)
    {
        var head = new Http1RequestHead(maxHeadBytes, maxHeaders);
        complete = head.TryParse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), out _);
        return head;
    }

    private static Http1ParseError ErrorOf(string text)
    {
        var head = Parse(text, out var complete);
        Assert.True(complete);
        return head.Error;
    }

    [Fact]
    public void TryParse_SimpleGet_ExposesRequestParts()
    {
        var head = Parse("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n", out var complete);

        Assert.True(complete);
        Assert.Equal(Http1ParseError.None, head.Error);
        Assert.Equal("GET", Encoding.ASCII.GetString(head.Method));
        Assert.Equal("/a/b", Encoding.ASCII.GetString(head.Path));
        Assert.Equal("x=1&y=2", Encoding.ASCII.GetString(head.Query));
        Assert.Equal("/a/b?x=1&y=2", Encoding.ASCII.GetString(head.PathAndQuery));
        Assert.Equal("example.com:8080", Encoding.ASCII.GetString(head.Authority));
        Assert.True(head.KeepAlive);
        Assert.False(head.HasBody);
        Assert.Equal(2, head.HeaderCount);
    }

    [Fact]
    public void TryParse_Incomplete_NeedsMoreData()
    {
        Parse("GET / HTTP/1.1\r\nHost: a\r\n", out var complete);
        Assert.False(complete);
    }

    [Fact]
    public void TryParse_MultiSegmentInput_ParsesAcrossSegments()
    {
        var first = new Segment(Encoding.ASCII.GetBytes("GET /x HTTP/1.1\r\nHo"));
        var last = first.Append(Encoding.ASCII.GetBytes("st: a\r\n\r\nBODY"));
        var head = new Http1RequestHead(1024, 10);

        Assert.True(head.TryParse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), out var length));
        Assert.Equal(Http1ParseError.None, head.Error);
        Assert.Equal("GET /x HTTP/1.1\r\nHost: a\r\n\r\n".Length, length);
        Assert.Equal("a", Encoding.ASCII.GetString(head.Authority));
    }

    [Fact]
    public void TryParse_HeadPastTheInitialBuffer_GrowsAndKeepsEveryHeader()
    {
        // 40 headers of about 100 bytes: past the head's first buffer (1 KB) and header table (16).
        var text = new StringBuilder("GET /big HTTP/1.1\r\nHost: example.com\r\n");
        for (var i = 0; i < 40; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"X-Header-{i:D2}: {new string((char)('a' + (i % 26)), 90)}\r\n");
        }

        text.Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        var head = new Http1RequestHead(60 * 1024, 100);
        var first = new Segment(bytes.AsSpan(0, 700).ToArray());
        var last = first.Append(bytes.AsSpan(700).ToArray());

        Assert.True(head.TryParse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), out var length));
        Assert.Equal(Http1ParseError.None, head.Error);
        Assert.Equal(bytes.Length, length);
        Assert.Equal(41, head.HeaderCount);
        Assert.True(head.TryGetHeader("x-header-39"u8, out var value));
        Assert.Equal(new string('n', 90), Encoding.ASCII.GetString(value));
        Assert.Equal(bytes, head.Raw.ToArray());

        // The next, small head on the same connection parses in the grown buffer.
        Assert.True(head.TryParse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("GET /s HTTP/1.1\r\nHost: b\r\n\r\n")), out _));
        Assert.Equal("b", Encoding.ASCII.GetString(head.Authority));
        Assert.Equal(1, head.HeaderCount);
    }

    [Fact]
    public void TryParse_ContentLengthAndChunked_AreKnown()
    {
        Assert.Equal(12, Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", out _).ContentLength);
        Assert.True(Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", out _).IsChunked);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", nameof(Http1ParseError.ContentLengthWithTransferEncoding))]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", nameof(Http1ParseError.ConflictingContentLength))]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", nameof(Http1ParseError.BadContentLength))]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", nameof(Http1ParseError.BadContentLength))]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", nameof(Http1ParseError.UnsupportedTransferEncoding))]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", nameof(Http1ParseError.UnsupportedTransferEncoding))]
    [InlineData("GET / HTTP/1.1\r\n: x\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadHeaderName))]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", nameof(Http1ParseError.HeaderNameWhitespace))]
    [InlineData("GET / HTTP/1.1\r\n Host: a\r\n\r\n", nameof(Http1ParseError.ObsoleteLineFolding))]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n", nameof(Http1ParseError.ObsoleteLineFolding))]
    [InlineData("GET / HTTP/1.1\nHost: a\n\n", nameof(Http1ParseError.BareLineFeed))]
    [InlineData("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", nameof(Http1ParseError.BareLineFeed))]
    [InlineData("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadHeaderValue))]
    [InlineData("GET / HTTP/1.1\r\n\r\n", nameof(Http1ParseError.MissingHost))]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", nameof(Http1ParseError.MissingHost))]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadVersion))]
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadRequestLine))]
    [InlineData("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadRequestLine))]
    [InlineData("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", nameof(Http1ParseError.BadRequestLine))]
    public void TryParse_MalformedHead_ReportsError(string text, string expected)
    {
        Assert.Equal(expected, ErrorOf(text).ToString());
    }

    [Fact]
    public void TryParse_HeadOverLimit_IsTooLarge()
    {
        var text = "GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('a', 2000) + "\r\n\r\n";
        var head = Parse(text, out var complete, maxHeadBytes: 1024);
        Assert.True(complete);
        Assert.Equal(Http1ParseError.HeadersTooLarge, head.Error);
    }

    [Fact]
    public void TryParse_HeadOverLimitStillArriving_IsRefusedEarly()
    {
        var text = "GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('a', 2000);
        var head = Parse(text, out var complete, maxHeadBytes: 1024);
        Assert.True(complete);
        Assert.Equal(Http1ParseError.HeadersTooLarge, head.Error);
    }

    [Fact]
    public void TryParse_TooManyHeaders_IsRefused()
    {
        var builder = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (var i = 0; i < 101; i++)
        {
            builder.Append("X-").Append(i).Append(": v\r\n");
        }

        Assert.Equal(Http1ParseError.TooManyHeaders, ErrorOf(builder.Append("\r\n").ToString()));
    }

    [Fact]
    public void TryParse_AbsoluteForm_TakesAuthorityFromTarget()
    {
        var head = Parse("GET http://upstream.local:81/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n", out _);

        Assert.Equal(Http1ParseError.None, head.Error);
        Assert.Equal("upstream.local:81", Encoding.ASCII.GetString(head.Authority));
        Assert.Equal("/p?q", Encoding.ASCII.GetString(head.PathAndQuery));
    }

    [Fact]
    public void TryParse_Http10_ClosesUnlessKeepAlive()
    {
        Assert.False(Parse("GET / HTTP/1.0\r\n\r\n", out _).KeepAlive);
        Assert.True(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", out _).KeepAlive);
        Assert.False(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", out _).KeepAlive);
    }

    [Fact]
    public void TryParse_WebSocketUpgrade_IsDetected()
    {
        var head = Parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", out _);
        Assert.True(head.IsUpgrade);
    }

    [Fact]
    public void TryGetHeader_IsCaseInsensitive()
    {
        var head = Parse("GET / HTTP/1.1\r\nHost: a\r\nX-User: Alice \r\n\r\n", out _);
        Assert.True(head.TryGetHeader("x-user"u8, out var value));
        Assert.Equal("Alice", Encoding.ASCII.GetString(value));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data)
        {
            Memory = data;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
