using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.EndToEnd.Activation;

/// <summary>
/// An HTTP/2-only (h2c, prior knowledge) Kestrel upstream on 127.0.0.1:0 that records, in
/// arrival order, the <c>x-conn</c> and <c>x-seq</c> headers each request carries (the client
/// connection and the request's place on it). A plain request gets 200 and the body
/// <c>CONN SEQ</c>; a gRPC unary call (<c>content-type: application/grpc</c>, one
/// length-prefixed message) gets one message <c>CONN SEQ MESSAGE</c> and trailer
/// <c>grpc-status: 0</c>, as a real gRPC server answers.
/// </summary>
internal sealed class SequenceUpstream : IAsyncDisposable
{
    private readonly ConcurrentQueue<Arrival> _arrivals = new();
    private readonly WebApplication _app;
    private readonly ListenOptions _listen;

    private SequenceUpstream(WebApplication app, ListenOptions listen)
    {
        _app = app;
        _listen = listen;
    }

    public int Port => _listen.IPEndPoint!.Port;

    /// <summary>Requests received so far, in arrival order.</summary>
    public IReadOnlyList<Arrival> Arrivals => [.. _arrivals];

    public static async Task<SequenceUpstream> StartAsync()
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.Http2.MaxStreamsPerConnection = 1000;
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                listen = o;
            });
        });
        var app = builder.Build();
        SequenceUpstream? upstream = null;
        app.Run(context => upstream!.HandleAsync(context));
        upstream = new SequenceUpstream(app, listen!);
        await app.StartAsync();
        return upstream;
    }

    /// <summary>One gRPC message: the 5-byte prefix (not compressed, big-endian length) and the payload.</summary>
    public static byte[] GrpcFrame(string message)
    {
        var payload = Encoding.UTF8.GetBytes(message);
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>The payload of a body holding exactly one uncompressed gRPC message, or null.</summary>
    public static string? ReadGrpcFrame(byte[] body)
    {
        if (body.Length < 5 || body[0] != 0)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        return length == body.Length - 5 ? Encoding.UTF8.GetString(body, 5, (int)length) : null;
    }

    public async ValueTask DisposeAsync()
    {
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
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var conn = request.Headers["x-conn"].ToString();
        var seq = request.Headers["x-seq"].ToString();
        _arrivals.Enqueue(new Arrival(conn, seq, request.Protocol, request.ContentType ?? string.Empty));
        using var buffered = new MemoryStream();
        await request.Body.CopyToAsync(buffered, context.RequestAborted);
        var response = context.Response;
        if (request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            response.ContentType = "application/grpc";
            if (ReadGrpcFrame(buffered.ToArray()) is not { } message)
            {
                response.AppendTrailer("grpc-status", "13");
                response.AppendTrailer("grpc-message", "expected exactly one uncompressed message");
                return;
            }

            await response.Body.WriteAsync(GrpcFrame($"{conn} {seq} {message}"), context.RequestAborted);
            response.AppendTrailer("grpc-status", "0");
            return;
        }

        response.ContentType = "text/plain";
        await response.WriteAsync($"{conn} {seq}", context.RequestAborted);
    }

    /// <summary>One request as the upstream saw it.</summary>
    public sealed record Arrival(string Conn, string Seq, string Protocol, string ContentType);
}
