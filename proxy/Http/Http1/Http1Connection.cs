using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Herald.Proxy.Activation;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>
/// Serves one downstream HTTP/1.1 connection: parses each request head strictly, routes
/// it, and relays it to a pooled upstream connection byte for byte (headers rewritten
/// only where Envoy rewrites them, bodies and chunk framing untouched).
/// </summary>
internal sealed partial class Http1Connection : IDisposable
{
    private readonly HttpConnectionManager _manager;
    private readonly HttpConnectionManagerStats _stats;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Http1RequestHead _request;
    private readonly byte[] _remoteAddressText;
    private readonly TimeProvider _time;
    private CancellationTokenSource _requestTimeout;

    // The try being sent (1 for the first); after the retries, the number of tries made.
    private int _attemptNumber = 1;
    private CancellationToken _connectionClosed;
    private uint _random;

    // Per-request state.
    private long _requestStart;
    private int _status;
    private string _responseFlags = "-";
    private long _bytesReceived;
    private long _bytesSent;
    private string? _upstreamHost;
    private long _upstreamServiceTimeMs = -1;

    public Http1Connection(HttpConnectionManager manager, IDuplexPipe transport, IPEndPoint? remote, bool isTls = false)
    {
        _manager = manager;
        _stats = manager.Stats;
        _time = manager.Time;
        _input = transport.Input;
        _output = transport.Output;
        _request = new Http1RequestHead(manager.Config.MaxRequestHeadersBytes, manager.Config.MaxHeadersCount)
        {
            RemoteAddress = remote?.Address,
            IsTls = isTls,
        };
        _remoteAddressText = remote is null ? [] : Encoding.ASCII.GetBytes(remote.Address.ToString());
        _requestTimeout = new CancellationTokenSource();
        _random = (uint)Random.Shared.Next() | 1;
    }

    /// <summary>Where the connection was going before a redirect (for ORIGINAL_DST clusters), if known.</summary>
    public IPEndPoint? OriginalDestination { get; init; }

    public void Dispose()
    {
        _requestTimeout.Dispose();
        if (_streamGuard is { } guard)
        {
            _streamGuard = null;
            StreamTimeoutSweeper.For(_time).Return(guard);
        }

        if (_routeTimer is { } routeTimer)
        {
            _routeTimer = null;
            StreamTimeoutSweeper.For(_time).Return(routeTimer);
        }
    }

    /// <summary>
    /// Set when a drain asks this connection to go away: the next response carries
    /// <c>Connection: close</c> and no further request is read. One volatile read per response.
    /// </summary>
    private volatile bool _draining;

    // Cancelled by a drain so that a connection waiting for its next request closes at once
    // (the idle timeout cancels that read through the stream guard). Only the head wait observes it.
    private CancellationTokenSource? _headWait;

    private bool Draining => _draining;

    /// <param name="connectionClosed">The client went away.</param>
    /// <param name="closeRequested">A drain asks the connection to close gracefully (Kestrel's
    /// <c>IConnectionLifetimeNotificationFeature.ConnectionClosedRequested</c>).</param>
    public async Task RunAsync(CancellationToken connectionClosed, CancellationToken closeRequested = default)
    {
        _connectionClosed = connectionClosed;
        _stats.DownstreamCxTotal.Increment();
        _stats.DownstreamCxHttp1Total.Increment();
        _stats.DownstreamCxActive.Increment();
        // One source per connection (none per request): a drain cancels the wait for the next head.
        using var headWait = closeRequested.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(connectionClosed) : null;
        _headWait = headWait;
        var headToken = headWait?.Token ?? connectionClosed;
        using var drain = closeRequested.CanBeCanceled
            ? closeRequested.UnsafeRegister(static state => ((Http1Connection)state!).OnCloseRequested(), this)
            : default;
        try
        {
            while (true)
            {
                ArmConnectionIdleTimer();
                var head = await ReadRequestHeadAsync(headToken).ConfigureAwait(false);
                if (StopStreamTimers())
                {
                    _stats.DownstreamCxIdleTimeout.Increment();
                    break;
                }

                if (head == HeadOutcome.Closed)
                {
                    break;
                }

                if (head == HeadOutcome.Drained)
                {
                    _stats.DownstreamCxDrainClose.Increment();
                    break;
                }

                if (head == HeadOutcome.Malformed)
                {
                    _stats.DownstreamCxProtocolError.Increment();
                    BeginRequest();
                    await WriteLocalReplyAsync(400, "Bad Request", keepAlive: false).ConfigureAwait(false);
                    EndRequest("-");
                    break;
                }

                BeginRequest();
                bool keepAlive;
                try
                {
                    keepAlive = await HandleRequestAsync().ConfigureAwait(false);
                }
                finally
                {
                    EndRequest(_responseFlags);
                }

                if (Draining)
                {
                    // This response carried Connection: close because of the drain.
                    _stats.DownstreamCxDrainClose.Increment();
                    break;
                }

                if (!keepAlive)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Idle timeout or the connection went away.
        }
        catch (IOException)
        {
            // The downstream connection failed.
        }
        catch (Exception e)
        {
            Observability.ProcessLog.Error("HTTP/1.1 connection", e);
        }
        finally
        {
            _stats.DownstreamCxActive.Decrement();
            await _output.CompleteAsync().ConfigureAwait(false);
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void OnCloseRequested()
    {
        _draining = true;
        if (Volatile.Read(ref _requestStart) == 0)
        {
            // Its first request may be on the way (the client connected just before the drain):
            // serve that one with Connection: close rather than lose it.
            return;
        }

        try
        {
            // A connection between requests closes now; one in a request closes after its response.
            _headWait?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile.
        }
    }

    private enum HeadOutcome
    {
        Complete,
        Closed,

        /// <summary>A drain closed the connection between requests.</summary>
        Drained,
        Malformed,
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<HeadOutcome> ReadRequestHeadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_draining && !_connectionClosed.IsCancellationRequested)
            {
                // Drained while waiting: a request that already arrived is still served (with
                // Connection: close); with nothing received the connection closes.
                if (!_input.TryRead(out result))
                {
                    return HeadOutcome.Drained;
                }

                if (result.Buffer.IsEmpty)
                {
                    _input.AdvanceTo(result.Buffer.End);
                    return HeadOutcome.Drained;
                }

                cancellationToken = _connectionClosed;
            }

            var buffer = result.Buffer;
            if (!buffer.IsEmpty && _request.TryParse(buffer, out var headLength))
            {
                if (_request.Error != Http1ParseError.None)
                {
                    _input.AdvanceTo(buffer.End);
                    return HeadOutcome.Malformed;
                }

                _input.AdvanceTo(buffer.GetPosition(headLength));
                _bytesReceived = 0;
                return HeadOutcome.Complete;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var partial = !buffer.IsEmpty;
                _input.AdvanceTo(buffer.End);
                return partial ? HeadOutcome.Malformed : HeadOutcome.Closed;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private void BeginRequest()
    {
        _attemptNumber = 1;
        _requestStart = _time.GetTimestamp();
        _status = 0;
        _responseFlags = "-";
        _bytesSent = 0;
        _upstreamHost = null;
        _upstreamServiceTimeMs = -1;
        _stats.DownstreamRqTotal.Increment();
        _stats.DownstreamRqHttp1Total.Increment();
        _stats.DownstreamRqActive.Increment();
    }

    private void EndRequest(string responseFlags)
    {
        _stats.DownstreamRqActive.Decrement();
        var elapsed = _time.GetElapsedTime(_requestStart);
        _stats.DownstreamRqTime.Record(elapsed);
        if (_status > 0)
        {
            _stats.RecordResponseCode(_status);
        }

        var logs = _manager.Config.AccessLogs;
        if (logs.Count > 0)
        {
            var entry = new AccessLogEntry
            {
                StartTime = _time.GetUtcNow() - elapsed,
                Method = _request.Length > 0 ? Encoding.ASCII.GetString(_request.Method) : "-",
                Path = _request.Length > 0 ? Encoding.ASCII.GetString(_request.Target) : "-",
                Protocol = _request.MinorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1",
                ResponseCode = _status,
                ResponseFlags = responseFlags,
                BytesReceived = _bytesReceived,
                BytesSent = _bytesSent,
                DurationMs = (long)elapsed.TotalMilliseconds,
                UpstreamServiceTimeMs = _upstreamServiceTimeMs >= 0 ? _upstreamServiceTimeMs : null,
                XForwardedFor = HeaderText(HeaderKind.XForwardedFor),
                UserAgent = HeaderText(HeaderKind.UserAgent),
                RequestId = HeaderText(HeaderKind.XRequestId) ?? _generatedRequestId,
                Authority = _request.Length > 0 && _request.Authority.Length > 0 ? Encoding.ASCII.GetString(_request.Authority) : null,
                UpstreamHost = _upstreamHost,
            };
            foreach (var log in logs)
            {
                log.Log(entry);
            }
        }

        _generatedRequestId = null;
    }

    private string? _generatedRequestId;

    private string? HeaderText(HeaderKind kind) =>
        _request.Length > 0 && _request.TryGetValue(kind, out var value) ? Encoding.ASCII.GetString(value) : null;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleRequestAsync()
    {
        var route = _manager.Config.RouteTable.Match(_request);
        if (_manager.Config.HttpFilters is { } filters && await RunHttpFiltersAsync(filters, route).ConfigureAwait(false) is { } filtered)
        {
            return filtered;
        }

        if (route is null)
        {
            _stats.NoRoute.Increment();
            _responseFlags = "NR";
            return await WriteLocalReplyAsync(404, null, keepAlive: CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
        }

        switch (route.Action)
        {
            case DirectResponseAction direct:
                _stats.RqDirectResponse.Increment();
                return await WriteLocalReplyAsync(direct.StatusCode, direct.Body, CanKeepAliveAfterLocalReply(), route.ResponseHeaderMutations).ConfigureAwait(false);
            case RedirectAction redirect:
                _stats.RqRedirect.Increment();
                return await WriteRedirectAsync(redirect).ConfigureAwait(false);
            case ClusterAction action:
                return await ForwardAsync(route, action).ConfigureAwait(false);
            default:
                return await WriteLocalReplyAsync(500, "unsupported route action", keepAlive: false).ConfigureAwait(false);
        }
    }

    /// <summary>After a reply Herald makes itself, a request body not yet read forces a close.</summary>
    private bool CanKeepAliveAfterLocalReply() => _request.KeepAlive && !_request.HasBody && !IsWebSocketRequest;

    private bool IsWebSocketRequest => _request.IsUpgrade && IsWebSocketUpgrade();

    private uint NextRandom()
    {
        // xorshift32: cheap per-connection randomness for weighted picks.
        var x = _random;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _random = x;
        return x;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(Route route, ClusterAction action)
    {
        // An h2c upgrade offer is declined by serving the request as HTTP/1.1 (Envoy does the same).
        if (_request.IsUpgrade && IsWebSocketUpgrade() && !(_manager.Config.WebSocketEnabled && action.AllowWebSocketUpgrade))
        {
            _stats.DownstreamRqWsOnNonWsRoute.Increment();
            return await WriteLocalReplyAsync(403, null, keepAlive: false).ConfigureAwait(false);
        }

        var clusterName = action.PickCluster(NextRandom());
        var cluster = _manager.Clusters.Get(clusterName);
        if (cluster is null)
        {
            _stats.NoCluster.Increment();
            _responseFlags = "NC";
            return await WriteLocalReplyAsync(503, LocalReplies.NoCluster, CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
        }

        if (cluster.Gate is { } gate)
        {
            return await ForwardHeldAsync(route, action, cluster, gate).ConfigureAwait(false);
        }

        return await ForwardToClusterAsync(route, action, cluster).ConfigureAwait(false);
    }

    // Scale from zero and burst holding: wait for capacity (the request body stays unread in
    // the connection's bounded pipe meanwhile), then forward holding a slot until the exchange ends.
    private async ValueTask<bool> ForwardHeldAsync(Route route, ClusterAction action, Cluster cluster, ActivationGate gate)
    {
        var wait = await ActivationWait.AcquireAsync(gate, action.Timeout, _time, _connectionClosed).ConfigureAwait(false);
        if (!wait.Admitted)
        {
            if (wait.RouteTimedOut)
            {
                _responseFlags = "UT";
                return await WriteLocalReplyAsync(504, LocalReplies.UpstreamTimeout, keepAlive: false).ConfigureAwait(false);
            }

            if (wait.Outcome == ActivationOutcome.Cancelled)
            {
                _responseFlags = "DC";
                return false;
            }

            _responseFlags = "UO";
            return await WriteLocalReplyAsync(503, gate.Explain(wait.Outcome), CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
        }

        using var lease = wait.Lease;
        return await ForwardToClusterAsync(route, action, cluster).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardToClusterAsync(Route route, ClusterAction action, Cluster cluster)
    {
        // Circuit breakers apply after the activation gate admitted the request.
        var breakers = cluster.Breakers;
        if (!breakers.TryAcquireRequest())
        {
            cluster.Stats.UpstreamRqPendingOverflow.Increment();
            return await WriteOverflowReplyAsync(CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
        }

        StartStreamTimers(action);
        try
        {
            ulong? hash = action.HashPolicies.Count > 0 ? action.ComputeHash(_request) : null;
            var endpoint = cluster.Pick(new LoadBalancerContext(hash, OriginalDestination));
            if (endpoint is null)
            {
                _responseFlags = "UH";
                return await WriteLocalReplyAsync(503, LocalReplies.NoHealthyUpstream, CanKeepAliveAfterLocalReply()).ConfigureAwait(false);
            }

            _upstreamHost = endpoint.AddressText;
            if (cluster.Config.Protocol == UpstreamProtocol.Http2)
            {
                return await ForwardThroughHandlerAsync(route, action, cluster, endpoint).ConfigureAwait(false);
            }

            if (action.RetryPolicy is { } policy && !IsWebSocketRequest)
            {
                return await ForwardWithRetriesAsync(route, action, cluster, endpoint, policy).ConfigureAwait(false);
            }

            return await ForwardHttp1Async(route, action, cluster, endpoint).ConfigureAwait(false);
        }
        finally
        {
            StopStreamTimers();
            breakers.ReleaseRequest();
        }
    }

    private bool IsWebSocketUpgrade() =>
        _request.TryGetValue(HeaderKind.Upgrade, out var upgrade) && HeaderNames.ContainsToken(upgrade, "websocket"u8);
}
