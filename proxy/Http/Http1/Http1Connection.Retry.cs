using System.Buffers;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Retry;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>
/// Routes with a retry_policy: the body (when small and complete) is kept for replay, each
/// attempt runs under the per-try and route deadlines, and only the final attempt's response
/// reaches the client. Routes without a policy never come here.
/// </summary>
internal sealed partial class Http1Connection
{
    private byte[]? _replayBody;
    private int _replayBodyLength;

    private enum ReplayOutcome
    {
        Buffered,
        NotReplayable,
        Malformed,
        DownstreamGone,
        TimedOut,
    }

    private readonly record struct Http1Attempt(UpstreamAttemptResult Result, Http1UpstreamConnection? Connection, int GrpcStatus, bool HeadersMatched = false);

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardWithRetriesAsync(Route route, ClusterAction action, Cluster cluster, UpstreamEndpoint endpoint, RetryPolicy policy)
    {
        var buffered = await BufferBodyForReplayAsync(action.Timeout).ConfigureAwait(false);
        try
        {
            if (StreamExpired is var early and not StreamTimeoutKind.None)
            {
                return await EndTimedOutStreamAsync(early, responseStarted: false, null).ConfigureAwait(false);
            }

            switch (buffered)
            {
                case ReplayOutcome.NotReplayable:
                    // Too large, still streaming, or waiting for 100-continue: one attempt, as without a policy.
                    return await ForwardHttp1Async(route, action, cluster, endpoint).ConfigureAwait(false);
                case ReplayOutcome.Malformed:
                    _stats.DownstreamCxProtocolError.Increment();
                    return await WriteLocalReplyAsync(400, "Bad Request", keepAlive: false).ConfigureAwait(false);
                case ReplayOutcome.DownstreamGone:
                    _responseFlags = "DC";
                    return false;
                case ReplayOutcome.TimedOut:
                    return await WriteLocalReplyAsync(408, "request timeout", keepAlive: false).ConfigureAwait(false);
            }

            return await RunAttemptsAsync(route, action, cluster, endpoint, policy).ConfigureAwait(false);
        }
        finally
        {
            if (_replayBody is { } rented)
            {
                ArrayPool<byte>.Shared.Return(rented);
                _replayBody = null;
            }

            _replayBodyLength = 0;
        }
    }

    /// <summary>
    /// Takes the whole request body off the connection when it fits in
    /// <see cref="RetryPolicy.MaxReplayBodyBytes"/>; otherwise consumes nothing.
    /// </summary>
    private async ValueTask<ReplayOutcome> BufferBodyForReplayAsync(TimeSpan timeout)
    {
        _replayBodyLength = 0;
        if (!_request.HasBody)
        {
            return ReplayOutcome.Buffered;
        }

        if (_request.ExpectContinue || (!_request.IsChunked && _request.ContentLength > RetryPolicy.MaxReplayBodyBytes))
        {
            return ReplayOutcome.NotReplayable;
        }

        // The route timeout bounds the wait for the body, on the connection's sweeper guard. A
        // client that goes away ends the read as on the fast path: the pipe completes or throws.
        var timed = timeout > TimeSpan.Zero;
        var token = timed ? StartRouteTimer(timeout) : CancellationToken.None;
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                long bodyLength = -1;
                if (_request.IsChunked)
                {
                    var framing = new ChunkedFraming(MaxTrailerBytes);
                    var consumed = framing.Consume(buffer);
                    if (framing.IsFailed)
                    {
                        _input.AdvanceTo(buffer.End);
                        return ReplayOutcome.Malformed;
                    }

                    if (framing.IsComplete)
                    {
                        bodyLength = consumed;
                    }
                }
                else if (buffer.Length >= _request.ContentLength)
                {
                    bodyLength = _request.ContentLength;
                }

                if (bodyLength >= 0 && bodyLength <= RetryPolicy.MaxReplayBodyBytes)
                {
                    var body = buffer.Slice(0, bodyLength);
                    _replayBody = ArrayPool<byte>.Shared.Rent((int)Math.Max(bodyLength, 1));
                    body.CopyTo(_replayBody);
                    _replayBodyLength = (int)bodyLength;
                    _bytesReceived += bodyLength;
                    _input.AdvanceTo(body.End);
                    return ReplayOutcome.Buffered;
                }

                if (bodyLength > RetryPolicy.MaxReplayBodyBytes || buffer.Length > RetryPolicy.MaxReplayBodyBytes)
                {
                    _input.AdvanceTo(buffer.Start);
                    return ReplayOutcome.NotReplayable;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                    return ReplayOutcome.DownstreamGone;
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (timed && _requestTimeout.IsCancellationRequested)
        {
            return ReplayOutcome.TimedOut;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return ReplayOutcome.DownstreamGone;
        }
        finally
        {
            if (timed)
            {
                StopRouteTimer();
            }
        }
    }

    /// <summary>
    /// The attempts, under the route timeout on the connection's sweeper guard (as on the fast
    /// path: no timer per request; Istio puts a retry policy on every route).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RunAttemptsAsync(Route route, ClusterAction action, Cluster cluster, UpstreamEndpoint endpoint, RetryPolicy policy)
    {
        var clusterStats = cluster.Stats;
        var breakers = cluster.Breakers;
        var timed = action.Timeout > TimeSpan.Zero;
        var routeToken = timed ? StartRouteTimer(action.Timeout) : CancellationToken.None;

        var upstreamStart = _time.GetTimestamp();
        List<UpstreamEndpoint>? tried = null;
        var retries = 0;
        var holdingRetry = false;
        try
        {
            while (true)
            {
                _upstreamHost = endpoint.AddressText;
                _attemptNumber = retries + 1;
                var attempt = await SendAttemptAsync(route, action, cluster, endpoint, policy.PerTryTimeout, routeToken).ConfigureAwait(false);
                if (StreamExpired is var expired and not StreamTimeoutKind.None)
                {
                    attempt.Connection?.Abort();
                    return await EndTimedOutStreamAsync(expired, responseStarted: false, null).ConfigureAwait(false);
                }

                if (attempt.Result.Failure != UpstreamFailureKind.Overflow)
                {
                    cluster.ReportAttempt(endpoint, attempt.Result);
                }

                if (holdingRetry)
                {
                    breakers.ReleaseRetry();
                    holdingRetry = false;
                }

                var result = attempt.Result;
                var retriable = result.IsResponse
                    ? policy.RetriesResponse(result.StatusCode, attempt.GrpcStatus, attempt.HeadersMatched)
                    : policy.RetriesFailure(result.Failure);
                var retry = retriable;
                if (retry && retries >= policy.NumRetries)
                {
                    clusterStats.UpstreamRqRetryLimitExceeded.Increment();
                    retry = false;
                }
                else if (retry && !breakers.TryAcquireRetry())
                {
                    clusterStats.UpstreamRqRetryOverflow.Increment();
                    retry = false;
                }

                if (!retry)
                {
                    if (!result.IsResponse)
                    {
                        return await FailAttemptAsync(result.Failure, clusterStats).ConfigureAwait(false);
                    }

                    if (retries > 0 && !retriable)
                    {
                        clusterStats.UpstreamRqRetrySuccess.Increment();
                    }

                    // The route timeout covers the wait for the response head; the body goes on.
                    if (timed)
                    {
                        timed = false;
                        StopRouteTimer();
                    }

                    return await RelayFinalResponseAsync(attempt.Connection!, route, clusterStats, upstreamStart).ConfigureAwait(false);
                }

                // Retrying: this attempt's response, if any, is discarded with its connection.
                attempt.Connection?.Abort();
                holdingRetry = true;
                retries++;
                clusterStats.UpstreamRqRetry.Increment();
                var backoff = policy.Backoff(retries, NextRandom());
                if (backoff > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(backoff, _time, routeToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return await FailAttemptAsync(UpstreamFailureKind.Timeout, clusterStats).ConfigureAwait(false);
                    }
                }

                (tried ??= []).Add(endpoint);
                var next = cluster.PickForRetry(
                    new LoadBalancerContext(action.HashPolicies.Count > 0 ? action.ComputeHash(_request) : null, OriginalDestination), tried);
                if (next is null)
                {
                    _responseFlags = "UH";
                    return await WriteLocalReplyAsync(503, LocalReplies.NoHealthyUpstream, _request.KeepAlive).ConfigureAwait(false);
                }

                endpoint = next;
            }
        }
        finally
        {
            if (timed)
            {
                StopRouteTimer();
            }

            if (holdingRetry)
            {
                breakers.ReleaseRetry();
            }
        }
    }

    /// <summary>One attempt: connect or reuse, send the head and the kept body, read the response head.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Http1Attempt> SendAttemptAsync(Route route, ClusterAction action, Cluster cluster, UpstreamEndpoint endpoint, TimeSpan perTryTimeout, CancellationToken routeToken)
    {
        var clusterStats = cluster.Stats;
        var pool = endpoint.Http1Pool;

        // Only a per_try_timeout needs a source of its own; without one the route's token serves.
        using var perTry = perTryTimeout > TimeSpan.Zero ? new CancellationTokenSource(perTryTimeout, _time) : null;
        using var linked = perTry is null ? null : CancellationTokenSource.CreateLinkedTokenSource(routeToken, perTry.Token);
        var token = linked?.Token ?? routeToken;
        clusterStats.UpstreamRqTotal.Increment();
        clusterStats.UpstreamRqActive.Increment();
        endpoint.BeginRequest();
        Http1UpstreamConnection? connection = null;
        try
        {
            for (var fresh = 0; ; fresh++)
            {
                connection = pool.TryRentIdle();
                if (connection is null)
                {
                    var breakers = cluster.Breakers;
                    if (!breakers.TryAcquirePending())
                    {
                        clusterStats.UpstreamRqPendingOverflow.Increment();
                        return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.Overflow), null, -1);
                    }

                    try
                    {
                        if (!breakers.AllowsNewConnection(clusterStats.UpstreamCxActive.Value))
                        {
                            clusterStats.UpstreamCxOverflow.Increment();
                            return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.Overflow), null, -1);
                        }

                        connection = await pool.ConnectAsync(_time, token).ConfigureAwait(false);
                    }
                    catch (UpstreamConnectException)
                    {
                        return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.ConnectFailure), null, -1);
                    }
                    finally
                    {
                        breakers.ReleasePending();
                    }
                }

                Volatile.Write(ref _timedUpstream, connection);
                if (StreamExpired != StreamTimeoutKind.None)
                {
                    return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.Reset), null, -1);
                }

                WriteRequestHead(connection.Output, route, action, endpoint, upgrade: false);
                if (_replayBodyLength > 0)
                {
                    connection.Output.Write(_replayBody.AsSpan(0, _replayBodyLength));
                }

                var flush = await connection.Output.FlushAsync(token).ConfigureAwait(false);
                var head = ResponseOutcome.ClosedBeforeResponse;
                var response = connection.ResponseHead ??= new Http1ResponseHead(MaxResponseHeadBytes, MaxResponseHeaders);
                if (!flush.IsCompleted)
                {
                    head = await ReadResponseHeadAsync(connection, response, TimeSpan.Zero, null, token).ConfigureAwait(false);
                }

                if (head == ResponseOutcome.ClosedBeforeResponse && connection.Reused && fresh == 0)
                {
                    // A pooled connection the upstream had just closed: once more on a fresh one.
                    connection.Abort();
                    connection = null;
                    continue;
                }

                if (head == ResponseOutcome.Timeout)
                {
                    // The route timeout fired: the head read reports it instead of throwing,
                    // since the route's token is the connection's request-timeout source.
                    return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.Timeout), null, -1);
                }

                if (head != ResponseOutcome.Complete)
                {
                    if (head == ResponseOutcome.ClosedBeforeResponse)
                    {
                        clusterStats.UpstreamRqRxReset.Increment();
                    }

                    return new Http1Attempt(UpstreamAttemptResult.Failed(head == ResponseOutcome.Malformed ? UpstreamFailureKind.ProtocolError : UpstreamFailureKind.Reset), null, -1);
                }

                clusterStats.RecordResponseCode(response.StatusCode);
                var grpcStatus = response.TryGetValue("grpc-status"u8, out var grpc) && grpc.Length is > 0 and < 3
                    && System.Buffers.Text.Utf8Parser.TryParse(grpc, out int parsed, out var used) && used == grpc.Length ? parsed : -1;
                var headersMatched = action.RetryPolicy is { ChecksHeaders: true } retryPolicy
                    && retryPolicy.MatchesRetriableHeaders(response, static (head, condition, out value) => head.TryGetValue(condition.NameBytes, out value));
                var attempt = new Http1Attempt(UpstreamAttemptResult.Response(response.StatusCode), connection, grpcStatus, headersMatched);
                connection = null;
                return attempt;
            }
        }
        catch (OperationCanceledException)
        {
            if (routeToken.IsCancellationRequested)
            {
                return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.Timeout), null, -1);
            }

            clusterStats.UpstreamRqPerTryTimeout.Increment();
            return new Http1Attempt(UpstreamAttemptResult.Failed(UpstreamFailureKind.PerTryTimeout), null, -1);
        }
        finally
        {
            connection?.Abort();
            endpoint.EndRequest();
            clusterStats.UpstreamRqActive.Decrement();
            clusterStats.UpstreamRqCompleted.Increment();
        }
    }

    private async ValueTask<bool> FailAttemptAsync(UpstreamFailureKind failure, ClusterStats clusterStats)
    {
        var keepAlive = _request.KeepAlive;
        switch (failure)
        {
            case UpstreamFailureKind.Overflow:
                return await WriteOverflowReplyAsync(keepAlive).ConfigureAwait(false);
            case UpstreamFailureKind.ConnectFailure:
                _responseFlags = "UF";
                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("connection failure"), keepAlive).ConfigureAwait(false);
            case UpstreamFailureKind.PerTryTimeout:
                _responseFlags = "UT";
                return await WriteLocalReplyAsync(504, LocalReplies.UpstreamTimeout, keepAlive: false).ConfigureAwait(false);
            case UpstreamFailureKind.Timeout:
                clusterStats.UpstreamRqTimeout.Increment();
                _responseFlags = "UT";
                return await WriteLocalReplyAsync(504, LocalReplies.UpstreamTimeout, keepAlive: false).ConfigureAwait(false);
            case UpstreamFailureKind.ProtocolError:
                _responseFlags = "UPE";
                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("protocol error"), keepAlive: false).ConfigureAwait(false);
            default:
                _responseFlags = "UC";
                return await WriteLocalReplyAsync(503, LocalReplies.UpstreamReset("connection termination"), keepAlive).ConfigureAwait(false);
        }
    }

    /// <summary>The attempt that is kept: its head and body go to the client as on the fast path.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RelayFinalResponseAsync(Http1UpstreamConnection connection, Route route, ClusterStats clusterStats, long upstreamStart)
    {
        var reusable = false;
        try
        {
            var response = connection.ResponseHead!;
            _upstreamServiceTimeMs = (long)_time.GetElapsedTime(upstreamStart).TotalMilliseconds;
            _status = response.StatusCode;
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
                return await EndTimedOutStreamAsync(late, responseStarted: true, null).ConfigureAwait(false);
            }

            if (bodyResult != BodyOutcome.Complete)
            {
                _responseFlags = bodyResult == BodyOutcome.DownstreamGone ? "DC" : "UPE";
                return false;
            }

            reusable = response.KeepAlive && framing != BodyFraming.UntilClose;
            return keepAlive;
        }
        finally
        {
            if (reusable && !StopStreamTimers())
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
