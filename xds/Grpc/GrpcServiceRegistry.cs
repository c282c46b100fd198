using System.Globalization;
using Google.Protobuf;
using Herald.Xds.Streams;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Herald.Xds.Grpc;

/// <summary>
/// gRPC methods by path, and the HTTP/2 request handling that calls them. Map every method
/// before the first request; <see cref="HandleAsync"/> can be called by any Kestrel application.
/// </summary>
public sealed class GrpcServiceRegistry
{
    // "0".."16" without formatting per call.
    private static readonly string[] StatusCodeText = CreateStatusCodeText();

    private readonly Dictionary<string, Method> _methods = new(StringComparer.Ordinal);
    private volatile bool _frozen;

    /// <summary>Larger request messages end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcFraming.DefaultMaxReceiveMessageSize;

    public GrpcServiceRegistry MapUnary<TReq, TResp>(string method, MessageParser<TReq> parser, Func<TReq, GrpcServerCallContext, Task<TResp>> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(handler);
        Add(method, new UnaryMethod<TReq, TResp>(parser, handler));
        return this;
    }

    public GrpcServiceRegistry MapDuplex<TReq, TResp>(string method, MessageParser<TReq> parser, Func<IMessageStream<TReq, TResp>, GrpcServerCallContext, Task> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(handler);
        Add(method, new DuplexMethod<TReq, TResp>(parser, handler));
        return this;
    }

    /// <summary>Whether <paramref name="path"/> is a mapped method.</summary>
    public bool Contains(string path) => _methods.ContainsKey(path);

    /// <summary>Serves one gRPC request: status, headers, messages and trailers.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _frozen = true;
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!GrpcContentType.IsGrpc(request.ContentType))
        {
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }

        response.ContentType = GrpcContentType.Value;
        var path = request.Path.Value ?? string.Empty;
        if (!_methods.TryGetValue(path, out var method))
        {
            WriteStatus(context, new GrpcStatus(GrpcStatusCode.Unimplemented, $"unknown method {path}"), null, null);
            return;
        }

        var encoding = request.Headers["grpc-encoding"];
        if (encoding.Count > 0 && encoding.ToString() != "identity")
        {
            response.Headers["grpc-accept-encoding"] = "identity";
            WriteStatus(context, new GrpcStatus(GrpcStatusCode.Unimplemented, $"message encoding '{encoding}' is not supported"), null, null);
            return;
        }

        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers["grpc-timeout"];
        if (timeoutHeader.Count > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader.ToString(), out var parsed))
            {
                WriteStatus(context, new GrpcStatus(GrpcStatusCode.Internal, "malformed grpc-timeout"), null, null);
                return;
            }

            timeout = parsed;
        }

        // A stream may idle for hours (xDS) and carry any volume: Kestrel's body rate and size limits do not apply.
        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        DateTime? deadline = null;
        if (timeout is { } t)
        {
            deadline = DateTime.UtcNow + t;
            cancellation.CancelAfter(t);
        }

        var call = new GrpcServerCallContext(context, path, deadline, cancellation.Token);
        GrpcStatus status;
        IReadOnlyList<KeyValuePair<string, string>>? extraTrailers = null;
        try
        {
            await method.InvokeAsync(context, call, MaxReceiveMessageSize).ConfigureAwait(false);
            status = GrpcStatus.Ok;
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream or left: nobody to tell.
            return;
        }
        catch (GrpcException e)
        {
            status = e.Status;
            extraTrailers = e.Trailers;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            status = new GrpcStatus(GrpcStatusCode.DeadlineExceeded, "the deadline was exceeded");
        }
        catch (Exception)
        {
            // Details stay on the server: they may name internals.
            status = new GrpcStatus(GrpcStatusCode.Unknown, "the handler failed");
        }

        if (deadline is not null && !status.IsOk && cancellation.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            status = new GrpcStatus(GrpcStatusCode.DeadlineExceeded, "the deadline was exceeded");
        }

        WriteStatus(context, status, call.TrailersToSend, extraTrailers);
    }

    private void Add(string method, Method entry)
    {
        if (method is null || method.Length < 3 || method[0] != '/' || method.IndexOf('/', 1) < 0)
        {
            throw new ArgumentException($"expected a method path like /package.Service/Method, got '{method}'", nameof(method));
        }

        if (_frozen)
        {
            throw new InvalidOperationException("methods must be mapped before the first request");
        }

        if (!_methods.TryAdd(method, entry))
        {
            throw new ArgumentException($"method {method} is already mapped", nameof(method));
        }
    }

    /// <summary>
    /// Sends the status: in the trailers after messages, or as a trailers-only response (the
    /// status in the only HEADERS frame) when nothing was sent yet.
    /// </summary>
    private static void WriteStatus(
        HttpContext context,
        GrpcStatus status,
        List<KeyValuePair<string, string>>? trailers,
        IReadOnlyList<KeyValuePair<string, string>>? extraTrailers)
    {
        var response = context.Response;
        var trailersOnly = !response.HasStarted;
        Set(response, trailersOnly, "grpc-status", StatusCodeText[(int)status.Code]);
        if (status.Message.Length > 0)
        {
            Set(response, trailersOnly, "grpc-message", GrpcMessageEncoding.Encode(status.Message));
        }

        if (trailers is not null)
        {
            foreach (var (key, value) in trailers)
            {
                SetCustom(response, trailersOnly, key, value);
            }
        }

        if (extraTrailers is not null)
        {
            for (var i = 0; i < extraTrailers.Count; i++)
            {
                SetCustom(response, trailersOnly, extraTrailers[i].Key, extraTrailers[i].Value);
            }
        }
    }

    private static void SetCustom(HttpResponse response, bool trailersOnly, string key, string value)
    {
        if (key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) || key.StartsWith(':'))
        {
            throw new InvalidOperationException($"trailer '{key}' is reserved");
        }

        Set(response, trailersOnly, key, value);
    }

    private static void Set(HttpResponse response, bool trailersOnly, string key, string value)
    {
        if (trailersOnly)
        {
            response.Headers.Append(key, value);
        }
        else
        {
            response.AppendTrailer(key, value);
        }
    }

    private static string[] CreateStatusCodeText()
    {
        var text = new string[17];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return text;
    }

    private abstract class Method
    {
        public abstract Task InvokeAsync(HttpContext context, GrpcServerCallContext call, int maxReceiveMessageSize);
    }

    private sealed class UnaryMethod<TReq, TResp>(MessageParser<TReq> parser, Func<TReq, GrpcServerCallContext, Task<TResp>> handler) : Method
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        public override async Task InvokeAsync(HttpContext context, GrpcServerCallContext call, int maxReceiveMessageSize)
        {
            var stream = new GrpcServerStream<TReq, TResp>(context, parser, maxReceiveMessageSize, call.CancellationToken);
            var request = await stream.ReadAsync(call.CancellationToken).ConfigureAwait(false)
                ?? throw new GrpcException(GrpcStatusCode.Unimplemented, "no request message for a unary method");
            if (await stream.ReadAsync(call.CancellationToken).ConfigureAwait(false) is not null)
            {
                throw new GrpcException(GrpcStatusCode.Unimplemented, "more than one request message for a unary method");
            }

            var response = await handler(request, call).ConfigureAwait(false);
            await stream.WriteAsync(response, call.CancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class DuplexMethod<TReq, TResp>(MessageParser<TReq> parser, Func<IMessageStream<TReq, TResp>, GrpcServerCallContext, Task> handler) : Method
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        public override Task InvokeAsync(HttpContext context, GrpcServerCallContext call, int maxReceiveMessageSize) =>
            handler(new GrpcServerStream<TReq, TResp>(context, parser, maxReceiveMessageSize, call.CancellationToken), call);
    }
}
