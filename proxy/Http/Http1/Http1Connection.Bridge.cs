using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>
/// HTTP/1.1 downstream to an HTTP/2 upstream, through SocketsHttpHandler. Not the fast
/// path: the head becomes an HttpRequestMessage, the response is written back as HTTP/1.1
/// (chunked when its length is unknown, trailers in the chunked trailer section).
/// </summary>
internal sealed partial class Http1Connection
{
    private async ValueTask<bool> ForwardThroughHandlerAsync(Route route, ClusterAction action, Cluster cluster, UpstreamEndpoint endpoint)
    {
        if (IsWebSocketRequest)
        {
            return await WriteLocalReplyAsync(501, "upgrades to an HTTP/2 upstream are not supported", keepAlive: false).ConfigureAwait(false);
        }

        var clusterStats = cluster.Stats;
        clusterStats.UpstreamRqTotal.Increment();
        clusterStats.UpstreamRqActive.Increment();
        endpoint.BeginRequest();
        var upstreamStart = _time.GetTimestamp();
        using var timeout = action.Timeout > TimeSpan.Zero ? new CancellationTokenSource(action.Timeout, _time) : null;
        using var streamCancel = BeginBridgedStream(timeout);
        var token = streamCancel?.Token ?? timeout?.Token ?? CancellationToken.None;
        try
        {
            using var message = BuildRequestMessage(route, action, endpoint);
            var bodyStream = _request.HasBody ? new Http1RequestBodyStream(this) : null;
            if (bodyStream is not null)
            {
                message.Content = new StreamContent(bodyStream);
                CopyContentHeaders(message);
            }

            HttpResponseMessage response;
            try
            {
                response = await _manager.HttpClients.SendAsync(cluster, endpoint, message, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (StreamExpired != StreamTimeoutKind.None)
            {
                return await EndTimedOutStreamAsync(StreamExpired, responseStarted: false, null).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true)
            {
                clusterStats.UpstreamRqTimeout.Increment();
                _responseFlags = "UT";
                return await WriteLocalReplyAsync(504, LocalReplies.UpstreamTimeout, keepAlive: false).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                _responseFlags = e.HttpRequestError == HttpRequestError.ConnectionError ? "UF" : "UC";
                if (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError)
                {
                    clusterStats.UpstreamCxConnectFail.Increment();
                }

                var reason = e.HttpRequestError == HttpRequestError.ConnectionError ? "connection failure" : "connection termination";
                if (Tls.UpstreamTlsException.ResetReasonOf(e) is { } tlsReason)
                {
                    _responseFlags = "UF";
                    reason = tlsReason;
                }

                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset(reason), keepAlive: bodyStream is null && CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
            }

            using (response)
            {
                _upstreamServiceTimeMs = (long)_time.GetElapsedTime(upstreamStart).TotalMilliseconds;
                _status = (int)response.StatusCode;
                clusterStats.RecordResponseCode(_status);
                var keepAlive = _request.KeepAlive && !Draining && (bodyStream is null || bodyStream.Completed);
                var ok = await WriteBridgedResponseAsync(response, route, keepAlive, streamCancel?.Token ?? CancellationToken.None).ConfigureAwait(false);
                clusterStats.UpstreamRqTime.Record(_time.GetElapsedTime(upstreamStart));
                if (StreamExpired is var late and not StreamTimeoutKind.None)
                {
                    return await EndTimedOutStreamAsync(late, responseStarted: true, null).ConfigureAwait(false);
                }

                return ok && keepAlive && (bodyStream is null || bodyStream.Completed);
            }
        }
        finally
        {
            if (streamCancel is not null)
            {
                StopStreamTimers();
                Volatile.Write(ref _bridgeCancel, null);
            }

            endpoint.EndRequest();
            clusterStats.UpstreamRqActive.Decrement();
            clusterStats.UpstreamRqCompleted.Increment();
        }
    }

    private HttpRequestMessage BuildRequestMessage(Route route, ClusterAction action, UpstreamEndpoint endpoint)
    {
        string pathAndQuery;
        if (action.HasPathRewrite && action.TryRewritePath(_request, out var rewritten))
        {
            pathAndQuery = Encoding.ASCII.GetString(rewritten);
        }
        else
        {
            pathAndQuery = Encoding.ASCII.GetString(_request.PathAndQuery);
            if (pathAndQuery.Length == 0 || pathAndQuery[0] == '?')
            {
                pathAndQuery = "/" + pathAndQuery;
            }
        }

        var message = new HttpRequestMessage(HttpMethod.Parse(Encoding.ASCII.GetString(_request.Method)), endpoint.RequestUri(pathAndQuery))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var config = _manager.Config;
        var mutations = route.RequestHeaderMutations;
        string? authority = action.HostRewriteLiteral ?? (action.AutoHostRewrite ? endpoint.HostName : null);
        authority ??= _request.Authority.Length > 0 ? Encoding.ASCII.GetString(_request.Authority) : endpoint.AddressText;
        message.Headers.Host = authority;
        var sawRequestId = false;
        var sawForwardedProto = false;
        foreach (ref var header in _request.Headers)
        {
            var name = Encoding.ASCII.GetString(_request.NameOf(header));
            var value = Encoding.ASCII.GetString(_request.ValueOf(header));
            switch (header.Kind)
            {
                case HeaderKind.Host:
                case HeaderKind.Connection:
                case HeaderKind.KeepAlive:
                case HeaderKind.ProxyConnection:
                case HeaderKind.Http2Settings:
                case HeaderKind.Upgrade:
                case HeaderKind.TransferEncoding:
                case HeaderKind.ContentLength:
                case HeaderKind.Expect:
                    continue;
                case HeaderKind.Te:
                    if (HeaderNames.ContainsToken(_request.ValueOf(header), "trailers"u8))
                    {
                        message.Headers.TryAddWithoutValidation("te", "trailers");
                    }

                    continue;
                case HeaderKind.XRequestId:
                    sawRequestId = true;
                    break;
                case HeaderKind.XForwardedProto:
                    sawForwardedProto = true;
                    if (config.UseRemoteAddress)
                    {
                        continue;
                    }

                    break;
                case HeaderKind.XForwardedFor:
                    if (config.UseRemoteAddress && _remoteAddressText.Length > 0)
                    {
                        value = value + ", " + Encoding.ASCII.GetString(_remoteAddressText);
                    }

                    break;
            }

            if (!mutations.IsEmpty && IsRemovedOrOverwritten(mutations, _request.NameOf(header)))
            {
                continue;
            }

            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (config.UseRemoteAddress && _request.IndexOf(HeaderKind.XForwardedFor) < 0 && _remoteAddressText.Length > 0)
        {
            message.Headers.TryAddWithoutValidation("x-forwarded-for", Encoding.ASCII.GetString(_remoteAddressText));
        }

        if (config.UseRemoteAddress || !sawForwardedProto)
        {
            message.Headers.TryAddWithoutValidation("x-forwarded-proto", _request.IsTls ? "https" : "http");
        }

        if (config.GenerateRequestId && !sawRequestId)
        {
            _generatedRequestId = RequestId.NewString();
            message.Headers.TryAddWithoutValidation("x-request-id", _generatedRequestId);
        }

        foreach (var added in mutations.Add)
        {
            message.Headers.TryAddWithoutValidation(added.Name, added.Value);
        }

        if (route.VirtualHost.IncludeRequestAttemptCount)
        {
            message.Headers.TryAddWithoutValidation(RouteTableTranslator.AttemptCountHeader, "1");
        }

        return message;
    }

    private void CopyContentHeaders(HttpRequestMessage message)
    {
        var content = message.Content!;
        foreach (ref var header in _request.Headers)
        {
            if (header.Kind == HeaderKind.ContentLength)
            {
                content.Headers.ContentLength = _request.ContentLength;
                continue;
            }

            var name = Encoding.ASCII.GetString(_request.NameOf(header));
            if (name.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
            {
                content.Headers.TryAddWithoutValidation(name, Encoding.ASCII.GetString(_request.ValueOf(header)));
            }
        }
    }

    private async ValueTask<bool> WriteBridgedResponseAsync(HttpResponseMessage response, Route route, bool keepAlive, CancellationToken streamCancelled)
    {
        var writer = _output;
        var status = (int)response.StatusCode;
        WriteStatusLine(status);
        var mutations = route.ResponseHeaderMutations;
        var contentLength = response.Content.Headers.ContentLength;
        var noBody = _request.IsHead || status is 204 or 304;
        var chunked = !noBody && contentLength is null;
        void WriteHeaders(System.Net.Http.Headers.HttpHeaders headers)
        {
            foreach (var (name, values) in headers.NonValidated)
            {
                if (string.Equals(name, "transfer-encoding", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(name, "connection", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(name, "keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!mutations.IsEmpty && IsRemovedOrOverwritten(mutations, Encoding.ASCII.GetBytes(name)))
                {
                    continue;
                }

                foreach (var value in values)
                {
                    WriteAscii(writer, name);
                    writer.Write(": "u8);
                    writer.Write(Encoding.UTF8.GetBytes(value));
                    writer.Write("\r\n"u8);
                }
            }
        }

        WriteHeaders(response.Headers);
        WriteHeaders(response.Content.Headers);
        if (chunked)
        {
            writer.Write("transfer-encoding: chunked\r\n"u8);
        }

        writer.Write("x-envoy-upstream-service-time: "u8);
        WriteNumber(_upstreamServiceTimeMs);
        writer.Write("\r\n"u8);
        foreach (var added in mutations.Add)
        {
            writer.Write(added.NameBytes);
            writer.Write(": "u8);
            writer.Write(added.ValueBytes);
            writer.Write("\r\n"u8);
        }

        if (route.VirtualHost.IncludeAttemptCountInResponse)
        {
            WriteAttemptCount(writer, _attemptNumber);
        }

        writer.Write(keepAlive ? "\r\n"u8 : "connection: close\r\n\r\n"u8);
        if (noBody)
        {
            return !(await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false)).IsCompleted;
        }

        await using var body = await response.Content.ReadAsStreamAsync(streamCancelled).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(buffer, streamCancelled).ConfigureAwait(false);
                _streamGuard?.Touch();
                if (read == 0)
                {
                    break;
                }

                if (chunked)
                {
                    var span = writer.GetSpan(20);
                    System.Buffers.Text.Utf8Formatter.TryFormat(read, span, out var digits, new System.Buffers.StandardFormat('x'));
                    writer.Advance(digits);
                    writer.Write("\r\n"u8);
                }

                writer.Write(buffer.AsSpan(0, read));
                if (chunked)
                {
                    writer.Write("\r\n"u8);
                }

                _bytesSent += read;
                var flush = await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    return false;
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (chunked)
        {
            writer.Write("0\r\n"u8);
            foreach (var (name, values) in response.TrailingHeaders.NonValidated)
            {
                foreach (var value in values)
                {
                    WriteAscii(writer, name);
                    writer.Write(": "u8);
                    writer.Write(Encoding.UTF8.GetBytes(value));
                    writer.Write("\r\n"u8);
                }
            }

            writer.Write("\r\n"u8);
        }

        return !(await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false)).IsCompleted;
    }

    /// <summary>The downstream request body, de-chunked, as a stream for HttpContent.</summary>
    private sealed class Http1RequestBodyStream : Stream
    {
        private readonly Http1Connection _connection;
        private long _remaining;
        private ChunkedDecoder _decoder = new(MaxTrailerBytes);

        public Http1RequestBodyStream(Http1Connection connection)
        {
            _connection = connection;
            _remaining = connection._request.IsChunked ? -1 : connection._request.ContentLength;
        }

        public bool Completed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (Completed || destination.IsEmpty)
            {
                return 0;
            }

            var input = _connection._input;
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (_remaining >= 0)
                {
                    var take = (int)Math.Min(Math.Min(buffer.Length, _remaining), destination.Length);
                    buffer.Slice(0, take).CopyTo(destination.Span);
                    input.AdvanceTo(buffer.GetPosition(take));
                    _remaining -= take;
                    _connection._bytesReceived += take;
                    if (_remaining == 0)
                    {
                        Completed = true;
                    }

                    if (take > 0 || Completed)
                    {
                        return take;
                    }
                }
                else
                {
                    var (consumed, produced) = _decoder.Decode(buffer, destination.Span);
                    input.AdvanceTo(buffer.GetPosition(consumed));
                    _connection._bytesReceived += consumed;
                    if (_decoder.IsFailed)
                    {
                        throw new IOException("malformed chunked request body");
                    }

                    if (_decoder.IsComplete)
                    {
                        Completed = true;
                    }

                    if (produced > 0 || Completed)
                    {
                        return produced;
                    }

                    if (consumed > 0)
                    {
                        continue;
                    }
                }

                if (result.IsCompleted)
                {
                    throw new IOException("the client closed before the request body ended");
                }
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
