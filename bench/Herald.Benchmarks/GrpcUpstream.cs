using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Benchmarks;

/// <summary>
/// <c>--grpc-upstream PORT</c>: the load harness's gRPC upstream (bench/harness/run.sh). A unary
/// gRPC server on Kestrel, h2c with prior knowledge on 127.0.0.1:PORT: it reads the whole
/// length-prefixed request message, answers every method with one small message
/// (field 1 = "hello") and <c>grpc-status: 0</c> in the trailers. A request that is not
/// <c>application/grpc</c> or not one whole uncompressed message gets <c>grpc-status: 13</c>,
/// so a proxy that mangles the framing shows up as errors, not as speed.
/// </summary>
internal static class GrpcUpstream
{
    // 0 = uncompressed, length 7, then protobuf field 1 (string) "hello".
    private const int MaxRequest = 64 * 1024;

    private static readonly byte[] Reply = [0, 0, 0, 0, 7, 0x0a, 5, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o'];

    public static async Task<int> RunAsync(string[] args)
    {
        var at = Array.IndexOf(args, "--grpc-upstream");
        if (at + 1 >= args.Length || !int.TryParse(args[at + 1], out var port) || port is < 1 or > 65535)
        {
            await Console.Error.WriteLineAsync("usage: Herald.Benchmarks --grpc-upstream PORT");
            return 2;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.Http2.MaxStreamsPerConnection = 1000;
            options.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await Console.Out.WriteLineAsync($"grpc upstream on 127.0.0.1:{port}");
        await app.RunAsync();
        return 0;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "application/grpc";
        var ok = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true
            && await ReadOneMessageAsync(context.Request.BodyReader);
        if (ok)
        {
            await response.BodyWriter.WriteAsync(Reply);
        }

        response.AppendTrailer("grpc-status", ok ? "0" : "13");
    }

    private static async Task<bool> ReadOneMessageAsync(PipeReader body)
    {
        while (true)
        {
            var read = await body.ReadAsync();
            var buffer = read.Buffer;
            if (!read.IsCompleted && buffer.Length <= MaxRequest)
            {
                body.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var whole = false;
            if (read.IsCompleted && buffer.Length >= 5)
            {
                Span<byte> prefix = stackalloc byte[5];
                buffer.Slice(0, 5).CopyTo(prefix);
                whole = prefix[0] == 0 && buffer.Length == 5 + (long)BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
            }

            body.AdvanceTo(buffer.End);
            return whole;
        }
    }
}
