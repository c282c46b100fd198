using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http.Http1;

/// <summary>Replies Herald makes itself: errors, direct responses and redirects.</summary>
internal sealed partial class Http1Connection
{
    private ValueTask<bool> WriteLocalReplyAsync(int status, string? body, bool keepAlive) =>
        WriteLocalReplyAsync(status, body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(body), keepAlive, null);

    /// <summary>A circuit breaker said no: 503 with x-envoy-overloaded, as Envoy answers.</summary>
    private ValueTask<bool> WriteOverflowReplyAsync(bool keepAlive)
    {
        _responseFlags = "UO";
        return WriteLocalReplyAsync(503, OverflowBody, keepAlive, null, overloaded: true);
    }

    private static readonly ReadOnlyMemory<byte> OverflowBody = Encoding.UTF8.GetBytes(LocalReplies.Overflow);

    private async ValueTask<bool> WriteLocalReplyAsync(int status, ReadOnlyMemory<byte> body, bool keepAlive, HeaderMutations? mutations, string? location = null, bool overloaded = false)
    {
        _status = status;
        keepAlive &= !Draining;
        var writer = _output;
        WriteStatusLine(status);
        if (location is not null)
        {
            writer.Write("location: "u8);
            WriteAscii(writer, location);
            writer.Write("\r\n"u8);
        }

        if (overloaded)
        {
            writer.Write("x-envoy-overloaded: true\r\n"u8);
        }

        if (body.Length > 0)
        {
            writer.Write("content-type: text/plain\r\n"u8);
        }

        writer.Write("content-length: "u8);
        WriteNumber(body.Length);
        writer.Write("\r\n"u8);
        if (mutations is { IsEmpty: false })
        {
            WriteAddedHeaders(writer, mutations, head: null);
        }

        writer.Write(keepAlive ? (_request.MinorVersion == 0 ? "connection: keep-alive\r\n\r\n"u8 : "\r\n"u8) : "connection: close\r\n\r\n"u8);
        if (!_request.IsHead && body.Length > 0)
        {
            writer.Write(body.Span);
        }

        _bytesSent += body.Length;
        try
        {
            await writer.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }

        return keepAlive;
    }

    private ValueTask<bool> WriteRedirectAsync(RedirectAction redirect) =>
        WriteLocalReplyAsync(redirect.StatusCode, ReadOnlyMemory<byte>.Empty, CanKeepAliveAfterLocalReply(), null, redirect.BuildLocation(_request));

    private void WriteStatusLine(int status)
    {
        _output.Write("HTTP/1.1 "u8);
        WriteNumber(status);
        _output.Write(" "u8);
        WriteAscii(_output, LocalReplies.ReasonPhrase(status));
        _output.Write("\r\n"u8);
    }

    private void WriteNumber(long value)
    {
        var span = _output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        _output.Advance(written);
    }
}
