using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Herald.Proxy.Activation;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Filters;
using Herald.Proxy.Http.Retry;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Http2;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// Forwards a request that Kestrel parsed (HTTP/2 and h2c downstream, including gRPC)
/// through <see cref="UpstreamHttpClients"/> (Herald's own HTTP/2 client for h2c upstreams,
/// SocketsHttpHandler for the others): headers, streaming bodies both ways, trailers, resets.
/// </summary>
internal static partial class HttpContextForwarder
{
    // x-envoy-upstream-service-time values under a second, made once each.
    private static readonly string?[] SmallMilliseconds = new string?[1000];

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "host", "te",
    };

    /// <summary>
    /// Forwards one request (the task Kestrel waits on). A failure nobody answered is logged
    /// and resets the stream; the response flags (Envoy's %RESPONSE_FLAGS%) go to the access log.
    /// </summary>
    /// <param name="originalDestination">Where the downstream connection was going before a redirect, for ORIGINAL_DST clusters.</param>
    public static async Task ForwardAsync(HttpContext context, HttpConnectionManager manager, IPEndPoint? originalDestination)
    {
        var stats = manager.Stats;
        var time = manager.Time;
        var start = time.GetTimestamp();
        stats.DownstreamRqTotal.Increment();
        stats.DownstreamRqHttp2Total.Increment();
        stats.DownstreamRqActive.Increment();
        var log = manager.Config.AccessLogs.Count > 0 ? new AccessLogEntry { StartTime = time.GetUtcNow() } : null;
        var flags = "-";
        try
        {
            flags = await ForwardCoreAsync(context, manager, originalDestination, log).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            ProcessLog.Error("HTTP/2 request", e);
            context.Abort();
        }
        finally
        {
            stats.DownstreamRqActive.Decrement();
            var elapsed = time.GetElapsedTime(start);
            stats.DownstreamRqTime.Record(elapsed);
            stats.RecordResponseCode(context.Response.StatusCode);
            if (log is not null)
            {
                var request = context.Request;
                log.Method = request.Method;
                log.Path = request.Path.Value + request.QueryString.Value;
                log.Protocol = "HTTP/2";
                log.ResponseCode = context.Response.StatusCode;
                log.ResponseFlags = flags;
                log.BytesReceived = request.ContentLength ?? 0;
                log.DurationMs = (long)elapsed.TotalMilliseconds;
                log.XForwardedFor = request.Headers["x-forwarded-for"].ToString() is { Length: > 0 } xff ? xff : null;
                log.UserAgent = request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null;
                log.RequestId = request.Headers["x-request-id"].ToString() is { Length: > 0 } id ? id : null;
                log.Authority = request.Host.Value;
                foreach (var sink in manager.Config.AccessLogs)
                {
                    sink.Log(log);
                }
            }
        }
    }

    // The levels below return their callee's task when they have nothing to do after it:
    // each async level costs a state machine and a resumption per request.
    private static ValueTask<string> ForwardCoreAsync(HttpContext context, HttpConnectionManager manager, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        var head = new HttpContextRequestHead(context);
        var route = manager.Config.RouteTable.Match(head);
        if (manager.Config.HttpFilters is { } filters)
        {
            return FilterThenRouteAsync(context, manager, filters, head, route, originalDestination, log);
        }

        return route?.Action is ClusterAction action
            ? ForwardToClusterAsync(context, manager, route, action, head, originalDestination, log)
            : AnswerLocallyAsync(context, manager, head, route);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> FilterThenRouteAsync(HttpContext context, HttpConnectionManager manager, HttpFilterChain filters, HttpContextRequestHead head, Route? route, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        if (await HttpFilterHook.RunAsync(context, filters, head, route, manager.Time).ConfigureAwait(false) is { } filtered)
        {
            return filtered;
        }

        return route?.Action is ClusterAction action
            ? await ForwardToClusterAsync(context, manager, route, action, head, originalDestination, log).ConfigureAwait(false)
            : await AnswerLocallyAsync(context, manager, head, route).ConfigureAwait(false);
    }

    /// <summary>No route, a direct response or a redirect: answered here, nothing goes upstream.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> AnswerLocallyAsync(HttpContext context, HttpConnectionManager manager, HttpContextRequestHead head, Route? route)
    {
        if (route is null)
        {
            manager.Stats.NoRoute.Increment();
            await LocalReplyAsync(context, 404, null).ConfigureAwait(false);
            return "NR";
        }

        switch (route.Action)
        {
            case DirectResponseAction direct:
                manager.Stats.RqDirectResponse.Increment();
                ApplyResponseMutations(context.Response.Headers, route.ResponseHeaderMutations);
                context.Response.StatusCode = direct.StatusCode;
                context.Response.ContentLength = direct.Body.Length;
                if (direct.Body.Length > 0)
                {
                    context.Response.ContentType = "text/plain";
                    await context.Response.Body.WriteAsync(direct.Body).ConfigureAwait(false);
                }

                return "-";
            case RedirectAction redirect:
                manager.Stats.RqRedirect.Increment();
                context.Response.StatusCode = redirect.StatusCode;
                context.Response.Headers.Location = redirect.BuildLocation(head);
                context.Response.ContentLength = 0;
                return "-";
            default:
                await LocalReplyAsync(context, 500, "unsupported route action").ConfigureAwait(false);
                return "-";
        }
    }

    private static ValueTask<string> ForwardToClusterAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        var cluster = manager.Clusters.Get(action.PickCluster((uint)Random.Shared.Next()));
        if (cluster is null)
        {
            manager.Stats.NoCluster.Increment();
            return ThenFlagsAsync(LocalReplyAsync(context, 503, LocalReplies.NoCluster), "NC");
        }

        return cluster.Gate is { } gate
            ? ForwardThroughGateAsync(context, manager, route, action, head, cluster, gate, originalDestination, log)
            : ForwardToEndpointAsync(context, manager, route, action, head, cluster, originalDestination, log);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ForwardThroughGateAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, ActivationGate gate, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        // Scale from zero and burst holding: the stream waits (its body unread, under HTTP/2
        // flow control) until the gate admits it, then holds a slot until the exchange ends.
        var wait = await ActivationWait.AcquireAsync(gate, action.Timeout, manager.Time, context.RequestAborted).ConfigureAwait(false);
        if (!wait.Admitted)
        {
            if (wait.RouteTimedOut)
            {
                await LocalReplyAsync(context, 504, LocalReplies.UpstreamTimeout).ConfigureAwait(false);
                return "UT";
            }

            if (wait.Outcome == ActivationOutcome.Cancelled)
            {
                context.Abort();
                return "DC";
            }

            await LocalReplyAsync(context, 503, gate.Explain(wait.Outcome)).ConfigureAwait(false);
            return "UO";
        }

        using var lease = wait.Lease;
        return await ForwardToEndpointAsync(context, manager, route, action, head, cluster, originalDestination, log).ConfigureAwait(false);
    }

    private static ValueTask<string> ForwardToEndpointAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        StreamTimeouts.Resolve(manager.Config, action, head, out var idle, out var duration);
        return idle <= TimeSpan.Zero && duration <= TimeSpan.Zero
            ? ForwardToEndpointCoreAsync(context, manager, route, action, head, cluster, originalDestination, log)
            : ForwardUnderStreamTimersAsync(context, manager, route, action, head, cluster, originalDestination, log, idle, duration);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ForwardUnderStreamTimersAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, IPEndPoint? originalDestination, AccessLogEntry? log, TimeSpan idle, TimeSpan duration)
    {
        // The stream timers cancel everything that waits on RequestAborted, then the reply is made here.
        var requestAborted = context.RequestAborted;
        var expired = LinkedCancellationPool.Shared.Rent(requestAborted);
        var sweeper = manager.StreamSweeper;
        var guard = sweeper.Rent(StreamTimeoutSweeper.CancelSource, expired.Source);
        head.StreamGuard = guard;
        context.RequestAborted = expired.Token;
        string flags;
        StreamTimeoutKind kind;
        try
        {
            guard.Start(idle, duration);
            flags = await ForwardToEndpointCoreAsync(context, manager, route, action, head, cluster, originalDestination, log).ConfigureAwait(false);
        }
        finally
        {
            guard.Stop();
            kind = guard.Expired;
            sweeper.Return(guard);
            context.RequestAborted = requestAborted;
            head.StreamGuard = null;

            // A timer that fired may still cancel the source from the sweeper's thread: not reused then.
            LinkedCancellationPool.Shared.Return(expired, reusable: kind == StreamTimeoutKind.None);
        }

        // "-": the response was relayed whole (its last bytes may still be in Kestrel's buffer,
        // sent as the stream ends), so a timer that fired after that changes nothing.
        if (kind == StreamTimeoutKind.None || flags == "-")
        {
            return flags;
        }

        if (kind == StreamTimeoutKind.Idle)
        {
            manager.Stats.DownstreamRqIdleTimeout.Increment();
        }
        else
        {
            manager.Stats.DownstreamRqMaxDurationReached.Increment();
        }

        // After a reset of our own (context.Abort), Kestrel's own token is cancelled too.
        var reply = StreamTimeouts.ReplyFor(kind, head);
        if (context.Response.HasStarted || requestAborted.IsCancellationRequested)
        {
            context.Abort();
            return reply.ResponseFlag;
        }

        return await HttpFilterHook.WriteReplyAsync(context, reply).ConfigureAwait(false);
    }

    // Circuit breakers apply after the activation gate admitted the request; the request slot
    // is released when the exchange ends, by the level that forwards it.
    private static ValueTask<string> ForwardToEndpointCoreAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        var breakers = cluster.Breakers;
        if (!breakers.TryAcquireRequest())
        {
            cluster.Stats.UpstreamRqPendingOverflow.Increment();
            return ThenFlagsAsync(OverflowReplyAsync(context), "UO");
        }

        UpstreamEndpoint? endpoint;
        try
        {
            ulong? hash = action.HashPolicies.Count > 0 ? action.ComputeHash(head) : null;
            endpoint = cluster.Pick(new LoadBalancerContext(hash, originalDestination));
        }
        catch
        {
            breakers.ReleaseRequest();
            throw;
        }

        if (endpoint is null)
        {
            breakers.ReleaseRequest();
            return ThenFlagsAsync(LocalReplyAsync(context, 503, LocalReplies.NoHealthyUpstream), "UH");
        }

        return action.RetryPolicy is { } policy
            ? ForwardWithRetriesThenReleaseAsync(context, manager, route, action, head, cluster, endpoint, policy, originalDestination, log)
            : ForwardOnceAsync(context, manager, route, action, head, cluster, endpoint, log);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ForwardWithRetriesThenReleaseAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, UpstreamEndpoint endpoint, RetryPolicy policy, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        try
        {
            return await ForwardWithRetriesAsync(context, manager, route, action, head, cluster, endpoint, policy, originalDestination, log).ConfigureAwait(false);
        }
        finally
        {
            cluster.Breakers.ReleaseRequest();
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ForwardOnceAsync(HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head, Cluster cluster, UpstreamEndpoint endpoint, AccessLogEntry? log)
    {
        if (log is not null)
        {
            log.UpstreamHost = endpoint.AddressText;
        }

        var clusterStats = cluster.Stats;
        var time = manager.Time;
        clusterStats.UpstreamRqTotal.Increment();
        clusterStats.UpstreamRqActive.Increment();
        endpoint.BeginRequest();
        var upstreamStart = time.GetTimestamp();
        LinkedCancellation? linked = null;
        StreamTimeoutGuard? timeout = null;
        try
        {
            linked = LinkedCancellationPool.Shared.Rent(context.RequestAborted);
            timeout = StartRouteTimeout(manager, action, linked.Source);
            using var upstreamRequest = BuildRequest(context, manager.Config, route, action, head, endpoint, cluster);
            var message = upstreamRequest.Message;
            HttpResponseMessage response;
            try
            {
                response = await manager.HttpClients.SendAsync(cluster, endpoint, message, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout?.Expired is StreamTimeoutKind.Duration)
            {
                cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Failed(UpstreamFailureKind.Timeout));
                return await FailureReplyAsync(context, UpstreamFailureKind.Timeout, clusterStats).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return "DC";
            }
            catch (HttpRequestException e)
            {
                var failure = Classify(e, clusterStats);
                cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Failed(failure));
                return await FailureReplyAsync(context, failure, clusterStats, Tls.UpstreamTlsException.ResetReasonOf(e)).ConfigureAwait(false);
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                clusterStats.RecordResponseCode(status);
                cluster.ReportAttempt(endpoint, UpstreamAttemptResult.Response(status));

                // The route timeout covers the wait for the response head; streams go on.
                timeout?.Stop();
                return await RelayResponseAsync(context, response, route, clusterStats, time, upstreamStart, head.StreamGuard).ConfigureAwait(false);
            }
        }
        finally
        {
            // A route timeout that fired may still cancel the source from the sweeper's thread: not reused then.
            var expired = timeout is not null && manager.StreamSweeper.Return(timeout);
            if (linked is not null)
            {
                LinkedCancellationPool.Shared.Return(linked, reusable: !expired);
            }

            endpoint.EndRequest();
            clusterStats.UpstreamRqActive.Decrement();
            clusterStats.UpstreamRqCompleted.Increment();
            cluster.Breakers.ReleaseRequest();
        }
    }

    /// <summary>Status, headers, body and trailers of the upstream response to the client.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> RelayResponseAsync(HttpContext context, HttpResponseMessage response, Route route, ClusterStats clusterStats, TimeProvider time, long upstreamStart, StreamTimeoutGuard? streamGuard, int attempts = 1)
    {
        context.Response.StatusCode = (int)response.StatusCode;
        var headers = context.Response.Headers;
        CopyResponseHeaders(response.Headers, headers);
        CopyResponseHeaders(response.Content.Headers, headers);
        headers["x-envoy-upstream-service-time"] = MillisecondsText((long)time.GetElapsedTime(upstreamStart).TotalMilliseconds);
        ApplyResponseMutations(headers, route.ResponseHeaderMutations);
        if (route.VirtualHost.IncludeAttemptCountInResponse)
        {
            headers[RouteTableTranslator.AttemptCountHeader] = attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var completed = await CopyResponseBodyAsync(response, context, streamGuard).ConfigureAwait(false);
        if (!completed)
        {
            context.Abort();
            return "UC";
        }

        CopyTrailers(response, context);
        clusterStats.UpstreamRqTime.Record(time.GetElapsedTime(upstreamStart));
        return "-";
    }

    /// <summary>
    /// The route timeout on a guard of the shared sweeper, not a timer per request: it cancels
    /// <paramref name="source"/> when it fires. Null when the route has none; return it to
    /// <see cref="HttpConnectionManager.StreamSweeper"/> when the exchange ends.
    /// </summary>
    private static StreamTimeoutGuard? StartRouteTimeout(HttpConnectionManager manager, ClusterAction action, CancellationTokenSource source)
    {
        if (action.Timeout <= TimeSpan.Zero)
        {
            return null;
        }

        var guard = manager.StreamSweeper.Rent(StreamTimeoutSweeper.CancelSource, source);
        guard.Start(TimeSpan.Zero, action.Timeout);
        return guard;
    }

    /// <summary>What a failed send means, counted as Envoy counts it.</summary>
    private static UpstreamFailureKind Classify(HttpRequestException e, ClusterStats clusterStats)
    {
        if (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError)
        {
            clusterStats.UpstreamCxConnectFail.Increment();
            return UpstreamFailureKind.ConnectFailure;
        }

        clusterStats.UpstreamRqRxReset.Increment();
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            // HTTP/2 REFUSED_STREAM is error code 7.
            if (inner is HttpProtocolException { ErrorCode: 7 })
            {
                return UpstreamFailureKind.RefusedStream;
            }
        }

        return UpstreamFailureKind.Reset;
    }

    /// <summary>The local reply for an attempt that produced no response; returns the response flags.</summary>
    private static async Task<string> FailureReplyAsync(HttpContext context, UpstreamFailureKind failure, ClusterStats clusterStats, string? connectFailureReason = null)
    {
        switch (failure)
        {
            case UpstreamFailureKind.Overflow:
                await OverflowReplyAsync(context).ConfigureAwait(false);
                return "UO";
            case UpstreamFailureKind.ConnectFailure:
                await LocalReplyAsync(context, 503, LocalReplies.UpstreamReset(connectFailureReason ?? "connection failure")).ConfigureAwait(false);
                return "UF";
            case UpstreamFailureKind.Timeout:
                clusterStats.UpstreamRqTimeout.Increment();
                await LocalReplyAsync(context, 504, LocalReplies.UpstreamTimeout).ConfigureAwait(false);
                return "UT";
            case UpstreamFailureKind.PerTryTimeout:
                await LocalReplyAsync(context, 504, LocalReplies.UpstreamTimeout).ConfigureAwait(false);
                return "UT";
            default:
                await LocalReplyAsync(context, 503, LocalReplies.UpstreamReset("connection termination")).ConfigureAwait(false);
                return "UC";
        }
    }

    private static Task OverflowReplyAsync(HttpContext context)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.Headers["x-envoy-overloaded"] = "true";
        }

        return LocalReplyAsync(context, 503, LocalReplies.Overflow);
    }

    private static RequestMessagePool.Lease BuildRequest(HttpContext context, HttpConnectionManagerConfig config, Route route, ClusterAction action, HttpContextRequestHead head, UpstreamEndpoint endpoint, Cluster cluster, ReplayableRequestBody? replayable = null, int attempt = 1)
    {
        var request = context.Request;
        string pathAndQuery;
        if (action.HasPathRewrite && action.TryRewritePath(head, out var rewritten))
        {
            pathAndQuery = Encoding.ASCII.GetString(rewritten);
        }
        else
        {
            pathAndQuery = head.PathAndQuery;
        }

        var method = HttpMethod.Parse(request.Method);
        var uri = endpoint.RequestUri(pathAndQuery.Length == 0 ? "/" : pathAndQuery);

        // Only HTTP/2 clients come this way, so "the downstream's protocol" is HTTP/2.
        var version = cluster.Config.Protocol is UpstreamProtocol.Http2 or UpstreamProtocol.UseDownstream ? HttpVersion.Version20 : HttpVersion.Version11;
        var pooled = UpstreamHttpClients.SendsOnOwnHttp2Client(cluster, version);
        var message = pooled ? RequestMessagePool.Shared.Rent(method, uri) : new HttpRequestMessage(method, uri);
        message.Version = version;
        message.VersionPolicy = HttpVersionPolicy.RequestVersionExact;

        var mutations = route.RequestHeaderMutations;
        var bodyDetection = context.Features.Get<IHttpRequestBodyDetectionFeature>();
        var hasBody = bodyDetection?.CanHaveBody ?? (request.ContentLength > 0);
        if (hasBody)
        {
            message.Content = replayable?.CreateContent() ?? new StreamingContent(request.BodyReader, request.ContentLength, head.StreamGuard);
        }

        var sawRequestId = false;
        var sawForwardedProto = false;
        foreach (var (name, values) in request.Headers)
        {
            if (name.StartsWith(':') || HopByHop.Contains(name))
            {
                if (string.Equals(name, "te", StringComparison.OrdinalIgnoreCase) && values.ToString().Contains("trailers", StringComparison.OrdinalIgnoreCase))
                {
                    message.Headers.TryAddWithoutValidation("te", "trailers");
                }

                continue;
            }

            if (IsRemoved(mutations, name))
            {
                continue;
            }

            if (string.Equals(name, "x-request-id", StringComparison.OrdinalIgnoreCase))
            {
                sawRequestId = true;
            }

            if (string.Equals(name, "x-forwarded-proto", StringComparison.OrdinalIgnoreCase))
            {
                sawForwardedProto = true;
                if (config.UseRemoteAddress)
                {
                    continue;
                }
            }

            if (config.UseRemoteAddress && string.Equals(name, "x-forwarded-for", StringComparison.OrdinalIgnoreCase) && head.RemoteAddress is not null)
            {
                message.Headers.TryAddWithoutValidation(name, values.ToString() + ", " + head.RemoteAddress);
                continue;
            }

            if (name.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
            {
                // Content headers belong to the content; without a body there is nothing to describe.
                if (message.Content is not null)
                {
                    AddWithoutValidation(message.Content.Headers, name, values);
                }

                continue;
            }

            AddWithoutValidation(message.Headers, name, values);
        }

        if (config.UseRemoteAddress && !request.Headers.ContainsKey("x-forwarded-for") && head.RemoteAddress is not null)
        {
            message.Headers.TryAddWithoutValidation("x-forwarded-for", head.RemoteAddress.ToString());
        }

        if (config.UseRemoteAddress || !sawForwardedProto)
        {
            message.Headers.TryAddWithoutValidation("x-forwarded-proto", request.IsHttps ? "https" : "http");
        }

        if (config.GenerateRequestId && !sawRequestId)
        {
            var id = RequestId.NewString();
            message.Headers.TryAddWithoutValidation("x-request-id", id);
            request.Headers["x-request-id"] = id;
        }

        // Every source is valid already (Kestrel checked :authority, the translator the literal and
        // the endpoint's name): the Host setter would check again by building a Uri per request.
        message.Headers.TryAddWithoutValidation("Host", action.HostRewriteLiteral ?? (action.AutoHostRewrite ? endpoint.HostName : (request.Host.HasValue ? request.Host.Value : endpoint.AddressText)));
        foreach (var added in mutations.Add)
        {
            var exists = message.Headers.Contains(added.Name);
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

            if (added.Action is HeaderAppendAction.OverwriteIfExists or HeaderAppendAction.OverwriteIfExistsOrAdd)
            {
                message.Headers.Remove(added.Name);
            }

            message.Headers.TryAddWithoutValidation(added.Name, added.Value);
        }

        if (route.VirtualHost.IncludeRequestAttemptCount)
        {
            message.Headers.TryAddWithoutValidation(RouteTableTranslator.AttemptCountHeader, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return new RequestMessagePool.Lease(RequestMessagePool.Shared, message, pooled);
    }

    private static string MillisecondsText(long milliseconds) => milliseconds is >= 0 and < 1000
        ? SmallMilliseconds[milliseconds] ??= milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One value without boxing the <see cref="Microsoft.Extensions.Primitives.StringValues"/>; several as they come.</summary>
    private static void AddWithoutValidation(System.Net.Http.Headers.HttpHeaders headers, string name, Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count == 1)
        {
            headers.TryAddWithoutValidation(name, values[0]);
        }
        else
        {
            headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
    }

    private static bool IsRemoved(HeaderMutations mutations, string name)
    {
        if (mutations.IsEmpty)
        {
            return false;
        }

        foreach (var removed in mutations.Remove)
        {
            if (string.Equals(removed, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static void CopyResponseHeaders(System.Net.Http.Headers.HttpHeaders from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from.NonValidated)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (values.Count == 1)
            {
                to.Append(name, values.ToString());
            }
            else
            {
                foreach (var value in values)
                {
                    to.Append(name, value);
                }
            }
        }
    }

    private static void ApplyResponseMutations(IHeaderDictionary headers, HeaderMutations mutations)
    {
        if (mutations.IsEmpty)
        {
            return;
        }

        foreach (var removed in mutations.Remove)
        {
            headers.Remove(removed);
        }

        foreach (var added in mutations.Add)
        {
            var exists = headers.ContainsKey(added.Name);
            switch (added.Action)
            {
                case HeaderAppendAction.AddIfAbsent when exists:
                case HeaderAppendAction.OverwriteIfExists when !exists:
                    continue;
                case HeaderAppendAction.OverwriteIfExists:
                case HeaderAppendAction.OverwriteIfExistsOrAdd:
                    headers[added.Name] = added.Value;
                    break;
                default:
                    headers.Append(added.Name, added.Value);
                    break;
            }
        }
    }

    /// <summary>At least this much response buffer is offered to each upstream read.</summary>
    private const int BodyReadSize = 4096;

    /// <summary>
    /// Reads the upstream body straight into Kestrel's response buffers: no copy buffer per
    /// stream (hundreds in flight outran the shared array pool, so each was allocated).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> CopyResponseBodyAsync(HttpResponseMessage response, HttpContext context, StreamTimeoutGuard? streamGuard)
    {
        var writer = context.Response.BodyWriter;
        try
        {
            await using var stream = response.Content is Http2ResponseContent own
                ? own.GetReadStream()
                : await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
            while (true)
            {
                int read;
                try
                {
                    read = await stream.ReadAsync(writer.GetMemory(BodyReadSize), context.RequestAborted).ConfigureAwait(false);
                    streamGuard?.Touch();
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    return false;
                }

                if (read == 0)
                {
                    // Nothing written means Kestrel ends the stream on the headers: a
                    // trailers-only gRPC reply stays one.
                    return true;
                }

                writer.Advance(read);
                if (stream is Http2ResponseContent.ResponseBodyStream { EndReached: true })
                {
                    // The whole body is here: Kestrel sends it as the stream ends, in the DATA
                    // frame that carries END_STREAM (or before the trailers), not in one more.
                    return true;
                }

                var flushed = await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                if (flushed.IsCanceled || flushed.IsCompleted)
                {
                    return false;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static void CopyTrailers(HttpResponseMessage response, HttpContext context)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>();
        if (trailers is null)
        {
            return;
        }

        foreach (var (name, values) in response.TrailingHeaders.NonValidated)
        {
            foreach (var value in values)
            {
                trailers.Trailers.Append(name, value);
            }
        }
    }

    /// <summary>A local reply's task, answering the response flags once it is written.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ThenFlagsAsync(Task reply, string flags)
    {
        await reply.ConfigureAwait(false);
        return flags;
    }

    private static async Task LocalReplyAsync(HttpContext context, int status, string? body)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = status;
        if (body is null)
        {
            context.Response.ContentLength = 0;
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}
