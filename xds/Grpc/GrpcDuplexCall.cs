using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using Herald.Xds.Streams;

namespace Herald.Xds.Grpc;

/// <summary>
/// A client call in flight (unary or bidirectional). Reads return null when the server ends the
/// call with OK and throw <see cref="GrpcException"/> with the server's (or the local) status
/// otherwise. One reader and one writer at a time.
/// </summary>
public sealed class GrpcDuplexCall<TReq, TResp> : IMessageStream<TResp, TReq>
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private static readonly StreamPipeReaderOptions BodyReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024);

    private readonly MessageParser<TResp> _parser;
    private readonly int _maxReceiveMessageSize;
    private readonly Channel<TReq>? _writes;
    private readonly CancellationTokenSource _callCancellation;
    private readonly CancellationToken _userToken;
    private readonly CancellationTokenRegistration _cancelRegistration;
    private readonly Task<HttpResponseMessage> _responseTask;
    private readonly object _gate = new();
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private GrpcStatus? _status;
    private bool _disposed;

    internal GrpcDuplexCall(GrpcClient client, string method, MessageParser<TResp> parser, GrpcCallOptions options, TReq? unaryRequest)
    {
        ArgumentNullException.ThrowIfNull(parser);
        _parser = parser;
        _maxReceiveMessageSize = client.Options.MaxReceiveMessageSize;
        _userToken = options.CancellationToken;

        var request = new HttpRequestMessage(HttpMethod.Post, client.MethodUri(method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("user-agent", "herald-grpc/1.0");
        if (options.Deadline is { } deadline)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", GrpcTimeout.Format(deadline));
        }

        AddMetadata(request.Headers, options.Metadata);

        if (unaryRequest is null)
        {
            _writes = Channel.CreateBounded<TReq>(new BoundedChannelOptions(client.Options.WriteQueueCapacity)
            {
                SingleReader = true,
                SingleWriter = false,
            });
            request.Content = new DuplexContent(_writes.Reader);
        }
        else
        {
            request.Content = new UnaryContent(unaryRequest);
        }

        request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");

        _callCancellation = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        _cancelRegistration = _callCancellation.Token.UnsafeRegister(static state => ((GrpcDuplexCall<TReq, TResp>)state!).OnCallCancelled(), this);
        if (options.Deadline is { } timeout)
        {
            if (timeout <= TimeSpan.Zero)
            {
                _callCancellation.Cancel();
            }
            else
            {
                _callCancellation.CancelAfter(timeout);
            }
        }

        _responseTask = client.Invoker.SendAsync(request, _callCancellation.Token);
    }

    /// <summary>The final status; null while the call runs.</summary>
    public GrpcStatus? Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>The response headers, once they arrived (null before, or when the call failed first).</summary>
    public HttpResponseHeaders? ResponseHeaders { get; private set; }

    /// <summary>
    /// The trailers that carried the server's status (the response headers for a trailers-only
    /// response); null until then.
    /// </summary>
    public HttpHeaders? Trailers { get; private set; }

    /// <summary>Waits for the response headers (a trailers-only response ends the call here).</summary>
    public async Task<HttpResponseHeaders?> ReadResponseHeadersAsync()
    {
        try
        {
            await EnsureBodyAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (Status is null && IsTransportFailure(e))
        {
            Fail(StatusOf(e));
        }
        catch (Exception) when (Status is not null)
        {
            // How it ended is recorded.
        }

        return ResponseHeaders;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TResp?> ReadAsync(CancellationToken cancellationToken)
    {
        if (Status is null)
        {
            try
            {
                var body = await EnsureBodyAsync().ConfigureAwait(false);
                if (body is not null)
                {
                    var message = await GrpcFraming.ReadMessageAsync(body, _parser, _maxReceiveMessageSize, cancellationToken).ConfigureAwait(false);
                    if (message is not null)
                    {
                        return message;
                    }

                    var trailers = _response!.TrailingHeaders;
                    Trailers = trailers;
                    Finish(ReadStatus(trailers, "trailers"));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && Status is null)
            {
                // The caller gave up on this read: the call cannot be resumed mid-message, so it ends.
                Fail(new GrpcStatus(GrpcStatusCode.Cancelled, "a read was cancelled"));
                throw;
            }
            catch (GrpcException e) when (Status is null)
            {
                Fail(e.Status);
            }
            catch (Exception e) when (Status is null && IsTransportFailure(e))
            {
                Fail(StatusOf(e));
            }
            catch (Exception) when (Status is not null)
            {
                // Cancelled, timed out or failed locally meanwhile: the recorded status says how.
            }
        }

        var status = Status!.Value;
        return status.IsOk ? null : throw new GrpcException(status, TrailerList(), null);
    }

    public ValueTask WriteAsync(TReq message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_writes is null)
        {
            throw new InvalidOperationException("a unary call takes no further messages");
        }

        if (_writes.Writer.TryWrite(message))
        {
            return ValueTask.CompletedTask;
        }

        return WriteSlowAsync(message, cancellationToken);
    }

    public ValueTask CompleteAsync()
    {
        _writes?.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Ends the call; a call that has not finished is cancelled (its stream is reset).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Fail(new GrpcStatus(GrpcStatusCode.Cancelled, "the call was disposed before it finished"));
        await _cancelRegistration.DisposeAsync().ConfigureAwait(false);
        try
        {
            using var response = await _responseTask.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its outcome was reported through reads, if anyone asked.
        }

        if (_body is not null)
        {
            await _body.CompleteAsync().ConfigureAwait(false);
        }

        _callCancellation.Dispose();
    }

    /// <summary>Ends the call with a status found wrong on this side; returns the exception to throw.</summary>
    internal GrpcException FailLocally(GrpcStatus status)
    {
        Fail(status);
        return new GrpcException(Status!.Value);
    }

    private async ValueTask WriteSlowAsync(TReq message, CancellationToken cancellationToken)
    {
        try
        {
            await _writes!.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            var status = Status;
            if (status is { IsOk: false } failed)
            {
                throw new GrpcException(failed, TrailerList(), null);
            }

            throw new InvalidOperationException(status is null ? "writes were completed" : "the call has already ended");
        }
    }

    private async ValueTask<PipeReader?> EnsureBodyAsync()
    {
        if (_body is not null)
        {
            return _body;
        }

        var response = await _responseTask.ConfigureAwait(false);
        lock (_gate)
        {
            _response = response;
        }

        if (Status is not null)
        {
            // Ended while the headers were on their way: reset the stream.
            response.Dispose();
            return null;
        }

        ResponseHeaders = response.Headers;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Fail(GrpcStatus.FromHttpStatus((int)response.StatusCode));
            return null;
        }

        if (response.Headers.NonValidated.Contains("grpc-status"))
        {
            // Trailers-only: the status came in the only HEADERS frame.
            Trailers = response.Headers;
            Finish(ReadStatus(response.Headers, "headers"));
            return null;
        }

        var contentType = response.Content.Headers.NonValidated.TryGetValues("content-type", out var values) ? values.ToString() : string.Empty;
        if (!GrpcContentType.IsGrpc(contentType))
        {
            Fail(new GrpcStatus(GrpcStatusCode.Internal, $"response content-type '{contentType}' is not application/grpc"));
            return null;
        }

        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        var body = PipeReader.Create(stream, BodyReaderOptions);
        lock (_gate)
        {
            _body = body;
            if (_status is not null)
            {
                body.CancelPendingRead();
            }
        }

        return body;
    }

    private static GrpcStatus ReadStatus(HttpHeaders headers, string where)
    {
        if (!headers.NonValidated.TryGetValues("grpc-status", out var statusValues))
        {
            return new GrpcStatus(GrpcStatusCode.Internal, $"the server's {where} carry no grpc-status");
        }

        var text = statusValues.ToString();
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code > 16)
        {
            // Codes this side does not know are UNKNOWN, per the spec.
            return new GrpcStatus(GrpcStatusCode.Unknown, $"grpc-status '{text}'");
        }

        var message = headers.NonValidated.TryGetValues("grpc-message", out var messageValues)
            ? GrpcMessageEncoding.Decode(messageValues.ToString())
            : string.Empty;
        return new GrpcStatus((GrpcStatusCode)code, message);
    }

    private void OnCallCancelled()
    {
        var status = _userToken.IsCancellationRequested
            ? new GrpcStatus(GrpcStatusCode.Cancelled, "the call was cancelled")
            : new GrpcStatus(GrpcStatusCode.DeadlineExceeded, "the deadline was exceeded");
        Fail(status);
    }

    /// <summary>Records the server's status; the stream ended normally.</summary>
    private void Finish(GrpcStatus status)
    {
        lock (_gate)
        {
            if (_status is not null)
            {
                return;
            }

            _status = status;
        }

        _writes?.Writer.TryComplete();
    }

    /// <summary>Records a status decided on this side and resets the HTTP/2 stream.</summary>
    private void Fail(GrpcStatus status)
    {
        HttpResponseMessage? response;
        PipeReader? body;
        lock (_gate)
        {
            if (_status is not null)
            {
                return;
            }

            _status = status;
            response = _response;
            body = _body;
        }

        // Failing the request body (not just ending it) makes SocketsHttpHandler reset the
        // stream even when the body pump is still running; a clean end would send END_STREAM.
        _writes?.Writer.TryComplete(new GrpcException(status));
        body?.CancelPendingRead();

        // Cancelling the token aborts a send still waiting for headers and the request body pump;
        // disposing an unfinished response sends RST_STREAM(CANCEL).
        try
        {
            _callCancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: the call is over anyway.
        }

        response?.Dispose();
    }

    private List<KeyValuePair<string, string>> TrailerList()
    {
        var list = new List<KeyValuePair<string, string>>();
        if (Trailers is { } trailers)
        {
            foreach (var header in trailers.NonValidated)
            {
                if (!header.Key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase))
                {
                    list.Add(new KeyValuePair<string, string>(header.Key, header.Value.ToString()));
                }
            }
        }

        return list;
    }

    private static bool IsTransportFailure(Exception e) =>
        e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException;

    private static GrpcStatus StatusOf(Exception e) => e switch
    {
        HttpProtocolException { ErrorCode: 0x8 } => new GrpcStatus(GrpcStatusCode.Cancelled, "the server reset the stream (CANCEL)"),
        HttpProtocolException { ErrorCode: 0x7 } => new GrpcStatus(GrpcStatusCode.Unavailable, "the server refused the stream"),
        HttpProtocolException { ErrorCode: 0xB } => new GrpcStatus(GrpcStatusCode.ResourceExhausted, "the server reset the stream (ENHANCE_YOUR_CALM)"),
        HttpProtocolException { ErrorCode: 0xC } => new GrpcStatus(GrpcStatusCode.PermissionDenied, "the server reset the stream (INADEQUATE_SECURITY)"),
        HttpProtocolException p => new GrpcStatus(GrpcStatusCode.Internal, $"HTTP/2 stream error {p.ErrorCode}: {p.Message}"),
        HttpRequestException or IOException => new GrpcStatus(GrpcStatusCode.Unavailable, e.Message),
        _ => new GrpcStatus(GrpcStatusCode.Cancelled, e.Message),
    };

    private static void AddMetadata(HttpRequestHeaders headers, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        for (var i = 0; i < metadata.Count; i++)
        {
            var (key, value) = metadata[i];
            if (key.Length == 0 || key[0] == ':' || key.StartsWith("grpc-", StringComparison.Ordinal)
                || key is "content-type" or "te" or "user-agent" or "host" or "connection"
                || !IsLowercaseToken(key))
            {
                throw new ArgumentException($"metadata key '{key}' is reserved or not a lowercase header name", nameof(metadata));
            }

            if (!headers.TryAddWithoutValidation(key, value))
            {
                throw new ArgumentException($"metadata '{key}' could not be added", nameof(metadata));
            }
        }
    }

    private static bool IsLowercaseToken(string key)
    {
        foreach (var c in key)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The request body of a duplex call: pumps the write queue, flushing whenever it runs dry.</summary>
    private sealed class DuplexContent(ChannelReader<TReq> writes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            while (await writes.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Messages queued together go out in one flush; none waits for a later one.
                while (writes.TryRead(out var message))
                {
                    await GrpcFraming.WriteMessageAsync(stream, message, cancellationToken).ConfigureAwait(false);
                }

                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The request body of a unary call: one framed message.</summary>
    private sealed class UnaryContent(TReq message) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            GrpcFraming.WriteMessageAsync(stream, message, cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
