using System.Buffers.Text;
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>The HTTP/1.1 to HTTP/1.1 relay: the hot path.</summary>
internal sealed partial class Http1Connection
{
    private const int MaxResponseHeadBytes = 96 * 1024;
    private const int MaxResponseHeaders = 200;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardHttp1Async(Route route, ClusterAction action, Cluster cluster, UpstreamEndpoint endpoint)
    {
        var clusterStats = cluster.Stats;
        var pool = endpoint.Http1Pool;
        clusterStats.UpstreamRqTotal.Increment();
        clusterStats.UpstreamRqActive.Increment();
        endpoint.BeginRequest();
        var upstreamStart = _time.GetTimestamp();
        Http1UpstreamConnection? connection = null;
        var reusable = false;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                connection = pool.TryRentIdle();
                if (connection is null)
                {
                    var breakers = cluster.Breakers;
                    if (!breakers.TryAcquirePending())
                    {
                        clusterStats.UpstreamRqPendingOverflow.Increment();
                        return await WriteOverflowReplyAsync(CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
                    }

                    try
                    {
                        if (!breakers.AllowsNewConnection(clusterStats.UpstreamCxActive.Value))
                        {
                            // Herald does not queue for a free connection: over max_connections fails at once.
                            clusterStats.UpstreamCxOverflow.Increment();
                            return await WriteOverflowReplyAsync(CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
                        }

                        connection = await pool.ConnectAsync(_time, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (UpstreamConnectException e)
                    {
                        _responseFlags = "UF";
                        cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Failed(UpstreamFailureKind.ConnectFailure));
                        return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset(e.Message), CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
                    }
                    finally
                    {
                        breakers.ReleasePending();
                    }
                }

                var upgrade = IsWebSocketRequest;
                Volatile.Write(ref _timedUpstream, connection);
                if (StreamExpired is var early and not StreamTimeoutKind.None)
                {
                    // The timer fired while connecting: its wake-up missed this connection.
                    connection.Abort();
                    connection = null;
                    return await EndTimedOutStreamAsync(early, responseStarted: false, null).ConfigureAwait(false);
                }

                WriteRequestHead(connection.Output, route, action, endpoint, upgrade);
                Task<BodyOutcome>? bodyTask = null;
                if (_request.HasBody)
                {
                    if (!_request.ExpectContinue && TryRelayBufferedBody(connection.Output, out var outcome))
                    {
                        if (outcome == BodyOutcome.Malformed)
                        {
                            connection.Abort();
                            connection = null;
                            _stats.DownstreamCxProtocolError.Increment();
                            return await WriteLocalReplyAsync(400, "Bad Request", keepAlive: false).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        // The head goes now: a client sending Expect: 100-continue waits for it.
                        var headFlush = await connection.Output.FlushAsync().ConfigureAwait(false);
                        if (headFlush.IsCompleted)
                        {
                            connection.Abort();
                            connection = null;
                            _responseFlags = "UC";
                            return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("connection termination"), keepAlive: false).ConfigureAwait(false);
                        }

                        bodyTask = RelayRequestBodyAsync(connection.Output);
                    }
                }

                if (bodyTask is null)
                {
                    var flush = await connection.Output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        connection.Abort();
                        connection = null;
                        if (attempt == 0 && !_request.HasBody)
                        {
                            continue;
                        }

                        _responseFlags = "UC";
                        return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("connection termination"), CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
                    }
                }

                var response = connection.ResponseHead ??= new Http1ResponseHead(MaxResponseHeadBytes, MaxResponseHeaders);
                var head = await ReadResponseHeadAsync(connection, response, action.Timeout, bodyTask).ConfigureAwait(false);
                if (StreamExpired is var expired and not StreamTimeoutKind.None)
                {
                    connection.Abort();
                    connection = null;
                    _input.CancelPendingRead();
                    return await EndTimedOutStreamAsync(expired, responseStarted: false, bodyTask).ConfigureAwait(false);
                }

                if (head == ResponseOutcome.ClosedBeforeResponse && connection.Reused && attempt == 0 && !_request.HasBody)
                {
                    // A pooled connection the upstream had just closed: try once on a fresh one.
                    connection.Abort();
                    connection = null;
                    continue;
                }

                if (head != ResponseOutcome.Complete)
                {
                    connection.Abort();
                    connection = null;
                    if (FailureKindOf(head) is var failure and not UpstreamFailureKind.None)
                    {
                        cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Failed(failure));
                    }

                    return await FailBeforeResponseAsync(head, clusterStats, bodyTask).ConfigureAwait(false);
                }

                cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Response(response.StatusCode));
                _upstreamServiceTimeMs = (long)_time.GetElapsedTime(upstreamStart).TotalMilliseconds;
                _status = response.StatusCode;
                clusterStats.RecordResponseCode(response.StatusCode);
                if (response.StatusCode == 101)
                {
                    if (!upgrade)
                    {
                        connection.Abort();
                        connection = null;
                        _status = 502;
                        return await WriteLocalReplyAsync(502, "unexpected 101 from upstream", keepAlive: false).ConfigureAwait(false);
                    }

                    await RelayUpgradedAsync(connection, response, route).ConfigureAwait(false);
                    connection.Abort();
                    connection = null;
                    if (StreamExpired is var upgradeExpired and not StreamTimeoutKind.None)
                    {
                        return await EndTimedOutStreamAsync(upgradeExpired, responseStarted: true, null).ConfigureAwait(false);
                    }

                    return false;
                }

                var keepAlive = _request.KeepAlive && !Draining;
                var framing = ResponseFraming(response);
                if (framing == BodyFraming.UntilClose)
                {
                    keepAlive = false;
                }

                WriteResponseHead(response, route, keepAlive);
                var bodyResult = await RelayResponseBodyAsync(connection, response, framing).ConfigureAwait(false);
                clusterStats.UpstreamRqTime.Record(_time.GetElapsedTime(upstreamStart));
                if (StreamExpired is var late and not StreamTimeoutKind.None)
                {
                    connection.Abort();
                    connection = null;
                    _input.CancelPendingRead();
                    return await EndTimedOutStreamAsync(late, responseStarted: true, bodyTask).ConfigureAwait(false);
                }

                if (bodyResult != BodyOutcome.Complete)
                {
                    _responseFlags = bodyResult == BodyOutcome.DownstreamGone ? "DC" : "UPE";
                    connection.Abort();
                    connection = null;
                    return false;
                }

                if (bodyTask is not null)
                {
                    if (!bodyTask.IsCompleted)
                    {
                        // The upstream answered before the request body ended: neither side can be reused.
                        connection.Abort();
                        connection = null;
                        return false;
                    }

                    if (await bodyTask.ConfigureAwait(false) != BodyOutcome.Complete)
                    {
                        connection.Abort();
                        connection = null;
                        return false;
                    }
                }

                reusable = response.KeepAlive && framing != BodyFraming.UntilClose;
                return keepAlive;
            }
        }
        finally
        {
            endpoint.EndRequest();
            clusterStats.UpstreamRqActive.Decrement();
            clusterStats.UpstreamRqCompleted.Increment();
            if (StopStreamTimers())
            {
                reusable = false;
            }

            if (connection is not null)
            {
                if (reusable)
                {
                    connection.Release();
                }
                else
                {
                    connection.Abort();
                }
            }
        }
    }

    private enum ResponseOutcome
    {
        Complete,
        ClosedBeforeResponse,
        Malformed,
        Timeout,
        RequestBodyMalformed,
    }

    private enum BodyOutcome
    {
        Complete,
        Malformed,
        DownstreamGone,
        UpstreamGone,
    }

    private enum BodyFraming
    {
        None,
        ContentLength,
        Chunked,
        UntilClose,
    }

    private BodyFraming ResponseFraming(Http1ResponseHead response)
    {
        if (_request.IsHead || response.StatusCode is 204 or 304 || response.IsInformational)
        {
            return BodyFraming.None;
        }

        if (response.IsChunked)
        {
            return BodyFraming.Chunked;
        }

        if (response.ContentLength >= 0)
        {
            return response.ContentLength == 0 ? BodyFraming.None : BodyFraming.ContentLength;
        }

        return BodyFraming.UntilClose;
    }

    private static UpstreamFailureKind FailureKindOf(ResponseOutcome outcome) => outcome switch
    {
        ResponseOutcome.Timeout => UpstreamFailureKind.Timeout,
        ResponseOutcome.Malformed => UpstreamFailureKind.ProtocolError,
        ResponseOutcome.ClosedBeforeResponse => UpstreamFailureKind.Reset,
        _ => UpstreamFailureKind.None,
    };

    /// <param name="cancellationToken">The retry path's per-try and route deadline: cancelling throws.</param>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ResponseOutcome> ReadResponseHeadAsync(
        Http1UpstreamConnection connection, Http1ResponseHead response, TimeSpan timeout, Task<BodyOutcome>? bodyTask, CancellationToken cancellationToken = default)
    {
        var token = timeout > TimeSpan.Zero ? StartRouteTimer(timeout) : cancellationToken;

        try
        {
            var input = connection.Input;
            while (true)
            {
                var result = await input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty && response.TryParse(buffer, out var headLength))
                {
                    if (response.Error != Http1ParseError.None)
                    {
                        input.AdvanceTo(buffer.End);
                        return ResponseOutcome.Malformed;
                    }

                    input.AdvanceTo(buffer.GetPosition(headLength));
                    if (response.IsInformational && response.StatusCode != 101)
                    {
                        // 100 Continue and other interim responses go to the client as they are.
                        await RelayInterimAsync(response).ConfigureAwait(false);
                        continue;
                    }

                    return ResponseOutcome.Complete;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    input.AdvanceTo(buffer.End);
                    if (bodyTask is { IsCompleted: true } && bodyTask.Result == BodyOutcome.Malformed)
                    {
                        return ResponseOutcome.RequestBodyMalformed;
                    }

                    return buffer.IsEmpty ? ResponseOutcome.ClosedBeforeResponse : ResponseOutcome.Malformed;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (_requestTimeout.IsCancellationRequested)
        {
            return ResponseOutcome.Timeout;
        }
        catch (Exception e) when (e is IOException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return ResponseOutcome.ClosedBeforeResponse;
        }
        finally
        {
            if (timeout > TimeSpan.Zero)
            {
                StopRouteTimer();
            }
        }
    }

    /// <summary>
    /// The route timeout, on a guard of the shared sweeper rather than a timer per request:
    /// when it fires, the sweeper cancels <see cref="_requestTimeout"/>, whose token this returns.
    /// </summary>
    private CancellationToken StartRouteTimer(TimeSpan timeout)
    {
        _routeTimer ??= StreamTimeoutSweeper.For(_time).Rent(StreamTimeoutSweeper.CancelSource, null);
        _routeTimer.SetCallback(StreamTimeoutSweeper.CancelSource, _requestTimeout);
        _routeTimer.Start(TimeSpan.Zero, timeout);
        return _requestTimeout.Token;
    }

    private void StopRouteTimer()
    {
        if (_routeTimer!.Stop() || _requestTimeout.IsCancellationRequested)
        {
            // It fired (or is about to cancel the source): the next request needs a fresh one.
            _requestTimeout.Dispose();
            _requestTimeout = new CancellationTokenSource();
        }
    }

    private async ValueTask<bool> FailBeforeResponseAsync(ResponseOutcome outcome, ClusterStats clusterStats, Task<BodyOutcome>? bodyTask)
    {
        if (bodyTask is not null)
        {
            // Stop relaying the body: the request is over.
            _input.CancelPendingRead();
            try
            {
                var body = await bodyTask.ConfigureAwait(false);
                if (body == BodyOutcome.Malformed)
                {
                    outcome = ResponseOutcome.RequestBodyMalformed;
                }
            }
            catch (Exception)
            {
                // Already failing.
            }
        }

        switch (outcome)
        {
            case ResponseOutcome.Timeout:
                clusterStats.UpstreamRqTimeout.Increment();
                _responseFlags = "UT";
                return await WriteLocalReplyAsync(504, LocalReplies.UpstreamTimeout, keepAlive: false).ConfigureAwait(false);
            case ResponseOutcome.RequestBodyMalformed:
                _stats.DownstreamCxProtocolError.Increment();
                return await WriteLocalReplyAsync(400, "Bad Request", keepAlive: false).ConfigureAwait(false);
            case ResponseOutcome.Malformed:
                _responseFlags = "UPE";
                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("protocol error"), keepAlive: false).ConfigureAwait(false);
            default:
                clusterStats.UpstreamRqRxReset.Increment();
                _responseFlags = "UC";
                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("connection termination"), keepAlive: bodyTask is null && CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
        }
    }

    private void WriteRequestHead(PipeWriter writer, Route route, ClusterAction action, UpstreamEndpoint endpoint, bool upgrade)
    {
        var config = _manager.Config;
        var mutations = route.RequestHeaderMutations;
        var hasMutations = !mutations.IsEmpty;
        var rewriteHost = action.HostRewriteLiteral is not null || action.AutoHostRewrite;
        var useRemote = config.UseRemoteAddress;
        var regenerateRequestId = useRemote && !config.PreserveExternalRequestId && config.GenerateRequestId;

        writer.Write(_request.Method);
        writer.Write(" "u8);
        if (action.HasPathRewrite && action.TryRewritePath(_request, out var rewritten))
        {
            writer.Write(rewritten);
        }
        else
        {
            var pathAndQuery = _request.PathAndQuery;
            if (pathAndQuery.IsEmpty || pathAndQuery[0] == '?')
            {
                writer.Write("/"u8);
            }

            writer.Write(pathAndQuery);
        }

        writer.Write(" HTTP/1.1\r\n"u8);

        var sawHost = false;
        var sawForwardedFor = false;
        var sawForwardedProto = false;
        var sawRequestId = false;
        var headers = _request.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            ref var header = ref headers[i];
            switch (header.Kind)
            {
                case HeaderKind.Connection:
                case HeaderKind.KeepAlive:
                case HeaderKind.ProxyConnection:
                case HeaderKind.Http2Settings:
                    continue;
                case HeaderKind.Te:
                    if (HeaderNames.ContainsToken(_request.ValueOf(header), "trailers"u8))
                    {
                        writer.Write("te: trailers\r\n"u8);
                    }

                    continue;
                case HeaderKind.Upgrade:
                    if (upgrade)
                    {
                        writer.Write(_request.LineOf(header));
                    }

                    continue;
                case HeaderKind.Host:
                    sawHost = true;
                    if (!rewriteHost)
                    {
                        writer.Write(_request.LineOf(header));
                    }

                    continue;
                case HeaderKind.XForwardedFor:
                    sawForwardedFor = true;
                    if (useRemote && _remoteAddressText.Length > 0)
                    {
                        writer.Write(_request.Slice(header.LineStart, header.ValueStart + header.ValueLength - header.LineStart));
                        writer.Write(", "u8);
                        writer.Write(_remoteAddressText);
                        writer.Write("\r\n"u8);
                    }
                    else
                    {
                        writer.Write(_request.LineOf(header));
                    }

                    continue;
                case HeaderKind.XForwardedProto:
                    sawForwardedProto = true;
                    if (!useRemote)
                    {
                        writer.Write(_request.LineOf(header));
                    }

                    continue;
                case HeaderKind.XRequestId:
                    sawRequestId = true;
                    if (!regenerateRequestId)
                    {
                        writer.Write(_request.LineOf(header));
                    }

                    continue;
            }

            if (hasMutations && IsRemovedOrOverwritten(mutations, _request.NameOf(header)))
            {
                continue;
            }

            writer.Write(_request.LineOf(header));
        }

        if (rewriteHost)
        {
            writer.Write("host: "u8);
            WriteAscii(writer, action.HostRewriteLiteral ?? endpoint.HostName);
            writer.Write("\r\n"u8);
        }
        else if (!sawHost && _request.Authority.Length > 0)
        {
            writer.Write("host: "u8);
            writer.Write(_request.Authority);
            writer.Write("\r\n"u8);
        }

        if (upgrade)
        {
            writer.Write("connection: upgrade\r\n"u8);
        }

        if (useRemote && !sawForwardedFor && _remoteAddressText.Length > 0)
        {
            writer.Write("x-forwarded-for: "u8);
            writer.Write(_remoteAddressText);
            writer.Write("\r\n"u8);
        }

        if (useRemote || !sawForwardedProto)
        {
            writer.Write(_request.IsTls ? "x-forwarded-proto: https\r\n"u8 : "x-forwarded-proto: http\r\n"u8);
        }

        if (config.GenerateRequestId && (!sawRequestId || regenerateRequestId))
        {
            var span = writer.GetSpan(RequestId.Length + 16);
            "x-request-id: "u8.CopyTo(span);
            RequestId.Write(span[14..]);
            "\r\n"u8.CopyTo(span[(14 + RequestId.Length)..]);
            if (config.AccessLogs.Count > 0)
            {
                _generatedRequestId = System.Text.Encoding.ASCII.GetString(span.Slice(14, RequestId.Length));
            }

            writer.Advance(16 + RequestId.Length);
        }

        if (hasMutations)
        {
            WriteAddedHeaders(writer, mutations, _request);
        }

        if (route.VirtualHost.IncludeRequestAttemptCount)
        {
            WriteAttemptCount(writer, _attemptNumber);
        }

        writer.Write("\r\n"u8);
    }

    private void WriteResponseHead(Http1ResponseHead response, Route route, bool keepAlive)
    {
        var writer = _output;
        var mutations = route.ResponseHeaderMutations;
        var hasMutations = !mutations.IsEmpty;
        writer.Write("HTTP/1.1"u8);
        writer.Write(response.StatusLine[8..]);
        writer.Write("\r\n"u8);
        var headers = response.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            ref var header = ref headers[i];
            if (header.Kind is HeaderKind.Connection or HeaderKind.KeepAlive or HeaderKind.ProxyConnection)
            {
                continue;
            }

            if (hasMutations && IsRemovedOrOverwritten(mutations, response.NameOf(header)))
            {
                continue;
            }

            writer.Write(response.LineOf(header));
        }

        if (_upstreamServiceTimeMs >= 0)
        {
            var span = writer.GetSpan(64);
            "x-envoy-upstream-service-time: "u8.CopyTo(span);
            Utf8Formatter.TryFormat(_upstreamServiceTimeMs, span[31..], out var digits);
            "\r\n"u8.CopyTo(span[(31 + digits)..]);
            writer.Advance(33 + digits);
        }

        if (hasMutations)
        {
            WriteAddedHeaders(writer, mutations, response);
        }

        if (route.VirtualHost.IncludeAttemptCountInResponse)
        {
            WriteAttemptCount(writer, _attemptNumber);
        }

        if (!keepAlive)
        {
            writer.Write("connection: close\r\n"u8);
        }
        else if (_request.MinorVersion == 0)
        {
            writer.Write("connection: keep-alive\r\n"u8);
        }

        writer.Write("\r\n"u8);
    }

    private async ValueTask RelayInterimAsync(Http1ResponseHead response)
    {
        if (_request.MinorVersion == 0)
        {
            return;
        }

        _output.Write(response.Raw);
        await _output.FlushAsync().ConfigureAwait(false);
    }

    private static bool IsRemovedOrOverwritten(HeaderMutations mutations, ReadOnlySpan<byte> name)
    {
        foreach (var removed in mutations.Remove)
        {
            if (AsciiEqualsIgnoreCase(name, removed))
            {
                return true;
            }
        }

        foreach (var added in mutations.Add)
        {
            if (added.Action is HeaderAppendAction.OverwriteIfExistsOrAdd or HeaderAppendAction.OverwriteIfExists
                && HeaderNames.Is(name, added.NameBytes))
            {
                return true;
            }
        }

        return false;
    }

    private static void WriteAttemptCount(PipeWriter writer, int attempt)
    {
        var span = writer.GetSpan(40);
        "x-envoy-attempt-count: "u8.CopyTo(span);
        Utf8Formatter.TryFormat(attempt, span[23..], out var digits);
        "\r\n"u8.CopyTo(span[(23 + digits)..]);
        writer.Advance(25 + digits);
    }

    /// <param name="head">The head the headers join (for add-if-absent and overwrite-if-exists); null for a local reply, which has none.</param>
    private static void WriteAddedHeaders(PipeWriter writer, HeaderMutations mutations, Http1Head? head)
    {
        foreach (var added in mutations.Add)
        {
            var exists = head is not null && head.TryGetValue(added.NameBytes, out _);
            var write = added.Action switch
            {
                HeaderAppendAction.AddIfAbsent => !exists,
                HeaderAppendAction.OverwriteIfExists => exists,
                _ => true,
            };
            if (!write)
            {
                continue;
            }

            writer.Write(added.NameBytes);
            writer.Write(": "u8);
            writer.Write(added.ValueBytes);
            writer.Write("\r\n"u8);
        }
    }

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> bytes, string lower)
    {
        if (bytes.Length != lower.Length)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            var c = bytes[i];
            if ((uint)(c - 'A') <= 'Z' - 'A')
            {
                c |= 0x20;
            }

            if (c != lower[i])
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteAscii(PipeWriter writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        writer.Advance(text.Length);
    }
}
