using System.Globalization;
using System.Text;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// A reply an HTTP filter makes instead of routing: status, body and headers, written by each
/// path's local-reply writer. For a gRPC request (or a gRPC abort) it becomes a trailers-only
/// gRPC response, HTTP 200 with <c>grpc-status</c> and <c>grpc-message</c>, as Envoy's local replies do.
/// </summary>
internal sealed class FilterReply
{
    private FilterReply? _grpc;

    /// <param name="grpcStatus">The gRPC status of the gRPC form; null maps the HTTP status as Envoy does.</param>
    /// <param name="alwaysGrpc">Answer in the gRPC form whatever the request (a gRPC fault abort).</param>
    public FilterReply(int status, string body, HeaderMutations headers, string responseFlag, int? grpcStatus = null, bool alwaysGrpc = false)
    {
        AlwaysGrpc = alwaysGrpc;
        Status = status;
        BodyText = body;
        Body = Encoding.UTF8.GetBytes(body);
        Headers = headers;
        ResponseFlag = responseFlag;
        GrpcStatus = grpcStatus;
    }

    /// <summary>The downstream went away while a filter waited: nothing to write.</summary>
    public static FilterReply ClientGone { get; } = new(0, string.Empty, HeaderMutations.Empty, "DC");

    public int Status { get; }

    public string BodyText { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Headers added to the reply (for gRPC replies, content-type and grpc-status/grpc-message too).</summary>
    public HeaderMutations Headers { get; }

    /// <summary>Envoy's response flag for the access log: RL (rate limited), FI (fault abort), DC.</summary>
    public string ResponseFlag { get; }

    public int? GrpcStatus { get; }

    public bool AlwaysGrpc { get; }

    public bool IsClientGone => ReferenceEquals(this, ClientGone);

    /// <summary>The reply to send for this request: the gRPC form for gRPC requests and gRPC aborts.</summary>
    public FilterReply For(IRequestHead request)
    {
        if (!AlwaysGrpc && !IsGrpc(request))
        {
            return this;
        }

        return AlwaysGrpc && Status == 200 && Body.IsEmpty ? this : _grpc ??= ToGrpc();
    }

    public static bool IsGrpc(IRequestHead request) =>
        request.TryGetHeader("content-type"u8, out var contentType) && contentType.StartsWith("application/grpc"u8);

    /// <summary>Envoy's HTTP status -> gRPC status mapping for local replies to gRPC requests.</summary>
    public static int GrpcStatusFor(int httpStatus) => httpStatus switch
    {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 or 502 or 503 or 504 => 14,
        _ => 2,
    };

    private FilterReply ToGrpc()
    {
        var add = new List<HeaderToAdd>(Headers.Add.Length + 3)
        {
            new("content-type", "application/grpc", HeaderAppendAction.OverwriteIfExistsOrAdd),
            new("grpc-status", (GrpcStatus ?? GrpcStatusFor(Status)).ToString(CultureInfo.InvariantCulture), HeaderAppendAction.OverwriteIfExistsOrAdd),
            new("grpc-message", BodyText, HeaderAppendAction.OverwriteIfExistsOrAdd),
        };
        add.AddRange(Headers.Add);
        return new FilterReply(200, string.Empty, new HeaderMutations(add, Headers.Remove), ResponseFlag, GrpcStatus ?? GrpcStatusFor(Status), alwaysGrpc: true);
    }
}
