using System.Collections.Concurrent;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// Upstream request messages reused from request to request. A new message cost its object,
/// its header collection and header arrays grown twice on the way to a dozen headers (about
/// 600 bytes per HTTP/2 request); a cleared one keeps its arrays. Only messages that Herald's
/// own HTTP/2 client sent come back here: SocketsHttpHandler marks what it sends as sent for
/// good, and may hold on to it.
/// </summary>
internal sealed class RequestMessagePool(int capacity)
{
    private readonly ConcurrentQueue<HttpRequestMessage> _idle = new();
    private int _count;

    /// <summary>The pool of the request path: 1,024 idle messages.</summary>
    public static RequestMessagePool Shared { get; } = new(1024);

    /// <summary>Idle messages held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>A message with no headers and no content, for <paramref name="method"/> to <paramref name="uri"/>.</summary>
    public HttpRequestMessage Rent(HttpMethod method, Uri uri)
    {
        if (!_idle.TryDequeue(out var message))
        {
            return new HttpRequestMessage(method, uri);
        }

        Interlocked.Decrement(ref _count);
        message.Method = method;
        message.RequestUri = uri;
        return message;
    }

    /// <summary>
    /// Ends a message's use: its content is disposed, and the message is kept for the next
    /// request when <paramref name="reusable"/> (sent by Herald's own client), disposed otherwise.
    /// </summary>
    public void Return(HttpRequestMessage message, bool reusable)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!reusable)
        {
            message.Dispose();
            return;
        }

        message.Content?.Dispose();
        message.Content = null;
        message.Headers.Clear();
        if (Interlocked.Increment(ref _count) <= capacity)
        {
            _idle.Enqueue(message);
            return;
        }

        Interlocked.Decrement(ref _count);
        message.Dispose();
    }

    /// <summary>A message and where it goes when disposed (<c>using</c>): back to its pool when reusable, as <see cref="Return"/> does.</summary>
    public readonly struct Lease(RequestMessagePool pool, HttpRequestMessage message, bool reusable) : IDisposable
    {
        public HttpRequestMessage Message => message;

        public void Dispose() => pool.Return(message, reusable);
    }
}
