using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A real Kestrel upstream on 127.0.0.1 with an HTTP/1.1 port and an h2c (prior knowledge)
/// port. It records every request (method, path, headers, body length) and answers by path:
/// <list type="bullet">
/// <item><c>/echo</c>: the request body back, streamed;</item>
/// <item><c>/discard</c>: reads the body without keeping it, answers its length;</item>
/// <item><c>/bytes/N</c>: N bytes (byte i = i % 251), streamed, with Content-Length
///   (<c>?chunked=1</c>: chunked); HEAD gets the Content-Length and no body;</item>
/// <item><c>/trailers</c>: body "first part;second part" and trailers x-trailer-a: one,
///   x-trailer-b: two (h2c port only: Kestrel has no HTTP/1.1 response trailers, see
///   <see cref="ChunkedTrailersUpstream"/>);</item>
/// <item><c>/hang</c>: never answers (until the client goes away, 2 minutes at most);</item>
/// <item><c>/status/N</c>: status N;</item>
/// <item>anything else: 200, body <see cref="FixedBody"/> (default: the upstream's name).</item>
/// </list>
/// Every response carries <c>x-upstream: NAME</c>; <see cref="Handler"/> replaces all of this.
/// </summary>
public sealed class RecordingUpstream : IAsyncDisposable
{
    /// <summary>A period of the /bytes pattern, a multiple of 251 close to 64 KiB.</summary>
    public static readonly byte[] Pattern = MakePattern(251 * 261);

    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly WebApplication _app;
    private readonly ListenOptions _http1;
    private readonly ListenOptions _h2c;
    private readonly CancellationTokenSource _stopping = new();

    private RecordingUpstream(string name, WebApplication app, ListenOptions http1, ListenOptions h2c)
    {
        Name = name;
        _app = app;
        _http1 = http1;
        _h2c = h2c;
        FixedBody = name;
    }

    public string Name { get; }

    /// <summary>Port of the HTTP/1.1 endpoint.</summary>
    public int Port => _http1.IPEndPoint!.Port;

    /// <summary>Port of the h2c (HTTP/2 prior knowledge) endpoint.</summary>
    public int H2cPort => _h2c.IPEndPoint!.Port;

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Body of the default answer.</summary>
    public string FixedBody { get; set; }

    /// <summary>When set, answers every request instead of the built-in handlers (the request is still recorded).</summary>
    public Func<HttpContext, Task>? Handler { get; set; }

    /// <summary>Requests received so far, in arrival order (recorded before the body is read).</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public int Count => _requests.Count;

    public static async Task<RecordingUpstream> StartAsync(string name = "upstream")
    {
        ListenOptions? http1 = null;
        ListenOptions? h2c = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = null;
            options.Limits.MinRequestBodyDataRate = null;
            options.Limits.MinResponseDataRate = null;
            options.Limits.MaxRequestHeadersTotalSize = 256 * 1024;
            options.Limits.MaxRequestHeaderCount = 1000;
            options.Limits.Http2.MaxRequestHeaderFieldSize = 256 * 1024;
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                http1 = o;
            });
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                h2c = o;
            });
        });
        var app = builder.Build();
        RecordingUpstream? upstream = null;
        app.Run(context => upstream!.HandleAsync(context));
        upstream = new RecordingUpstream(name, app, http1!, h2c!);
        await app.StartAsync();
        return upstream;
    }

    public void Clear() => _requests.Clear();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Connections still open are cut.
        }

        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    /// <summary>Reads the request body to its end without keeping it; returns its length.</summary>
    public static async Task<long> DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes <paramref name="length"/> bytes of <see cref="Pattern"/> without buffering more than one period.</summary>
    public static async Task WritePatternAsync(Stream output, long length, CancellationToken cancellationToken)
    {
        var remaining = length;
        while (remaining > 0)
        {
            var n = (int)Math.Min(remaining, Pattern.Length);
            await output.WriteAsync(Pattern.AsMemory(0, n), cancellationToken);
            remaining -= n;
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in request.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(new(key.ToLowerInvariant(), value ?? string.Empty));
            }
        }

        var record = new RecordedRequest(request.Method, request.Path.Value ?? "/", request.QueryString.Value ?? string.Empty, request.Protocol, headers);
        _requests.Enqueue(record);
        context.Response.Headers["x-upstream"] = Name;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var aborted = linked.Token;

        if (Handler is { } handler)
        {
            await handler(context);
            return;
        }

        var path = record.Path;
        if (path.StartsWith("/hang", StringComparison.Ordinal))
        {
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(2), aborted);
            }
            catch (OperationCanceledException)
            {
                // The client (the proxy) gave up: that is the point.
            }

            return;
        }

        if (path.StartsWith("/echo", StringComparison.Ordinal))
        {
            if (request.ContentType is { } type)
            {
                context.Response.ContentType = type;
            }

            if (request.ContentLength is { } length)
            {
                context.Response.ContentLength = length;
            }

            await context.Response.StartAsync(aborted);
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                long total = 0;
                int read;
                while ((read = await request.Body.ReadAsync(buffer, aborted)) > 0)
                {
                    total += read;
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), aborted);
                }

                record.BodyLength = total;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return;
        }

        record.BodyLength = await DrainAsync(request.Body, aborted);

        if (path.StartsWith("/discard", StringComparison.Ordinal))
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(record.BodyLength.ToString(CultureInfo.InvariantCulture), aborted);
            return;
        }

        if (path.StartsWith("/bytes/", StringComparison.Ordinal)
            && long.TryParse(path.AsSpan("/bytes/".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            context.Response.ContentType = "application/octet-stream";
            if (request.Query["chunked"] != "1")
            {
                context.Response.ContentLength = size;
            }

            if (!HttpMethods.IsHead(request.Method))
            {
                await WritePatternAsync(context.Response.Body, size, aborted);
            }

            return;
        }

        if (path.StartsWith("/trailers", StringComparison.Ordinal))
        {
            context.Response.ContentType = "text/plain";
            context.Response.DeclareTrailer("x-trailer-a");
            context.Response.DeclareTrailer("x-trailer-b");
            await context.Response.WriteAsync("first part;", aborted);
            await context.Response.Body.FlushAsync(aborted);
            await context.Response.WriteAsync("second part", aborted);
            var trailers = context.Features.Get<IHttpResponseTrailersFeature>()
                ?? throw new InvalidOperationException($"{request.Protocol}: Kestrel offers no response trailers here");
            trailers.Trailers["x-trailer-a"] = "one";
            trailers.Trailers["x-trailer-b"] = "two";
            return;
        }

        if (path.StartsWith("/status/", StringComparison.Ordinal)
            && int.TryParse(path.AsSpan("/status/".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            context.Response.StatusCode = status;
            return;
        }

        context.Response.ContentType = "text/plain";
        var fixedBody = System.Text.Encoding.UTF8.GetBytes(FixedBody);
        context.Response.ContentLength = fixedBody.Length;
        await context.Response.Body.WriteAsync(fixedBody, aborted);
    }

    private static byte[] MakePattern(int length)
    {
        var pattern = new byte[length];
        for (var i = 0; i < length; i++)
        {
            pattern[i] = (byte)(i % 251);
        }

        return pattern;
    }
}
