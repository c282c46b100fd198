using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Retry;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Upstream;
using Microsoft.AspNetCore.Http;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// Routes with a retry_policy (HTTP/2 and h2c downstream, gRPC included): each attempt runs
/// under the per-try and route deadlines; nothing reaches the client until an attempt is kept.
/// </summary>
internal static partial class HttpContextForwarder
{
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ForwardWithRetriesAsync(
        HttpContext context, HttpConnectionManager manager, Route route, ClusterAction action, HttpContextRequestHead head,
        Cluster cluster, UpstreamEndpoint endpoint, RetryPolicy policy, IPEndPoint? originalDestination, AccessLogEntry? log)
    {
        var clusterStats = cluster.Stats;
        var breakers = cluster.Breakers;
        var time = manager.Time;
        var clients = manager.HttpClients;
        var request = context.Request;
        var hasBody = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? (request.ContentLength > 0);
        using var body = hasBody ? new ReplayableRequestBody(request.BodyReader, request.ContentLength) : null;

        // One source for the whole exchange (the client going away, or the route timeout on a
        // guard of the shared sweeper); an attempt links its own only for a per_try_timeout.
        var exchange = LinkedCancellationPool.Shared.Rent(context.RequestAborted);
        var deadline = StartRouteTimeout(manager, action, exchange.Source);

        var upstreamStart = time.GetTimestamp();
        List<UpstreamEndpoint>? tried = null;
        var retries = 0;
        var holdingRetry = false;
        try
        {
            while (true)
            {
                if (log is not null)
                {
                    log.UpstreamHost = endpoint.AddressText;
                }

                using var perTry = policy.PerTryTimeout > TimeSpan.Zero ? new CancellationTokenSource(policy.PerTryTimeout, time) : null;
                using var linked = perTry is null ? null : CancellationTokenSource.CreateLinkedTokenSource(exchange.Token, perTry.Token);
                using var upstreamRequest = BuildRequest(context, manager.Config, route, action, head, endpoint, cluster, body, retries + 1);
                var message = upstreamRequest.Message;
                HttpResponseMessage? response = null;
                UpstreamAttemptResult result;
                var grpcStatus = -1;
                var headersMatched = false;
                clusterStats.UpstreamRqTotal.Increment();
                clusterStats.UpstreamRqActive.Increment();
                endpoint.BeginRequest();
                try
                {
                    response = await clients.SendAsync(cluster, endpoint, message, linked?.Token ?? exchange.Token).ConfigureAwait(false);
                    var status = (int)response.StatusCode;
                    clusterStats.RecordResponseCode(status);
                    result = UpstreamAttemptResult.Response(status);
                    grpcStatus = GrpcStatusOf(response);
                    headersMatched = policy.ChecksHeaders && policy.MatchesRetriableHeaders(response, ResponseHeader);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    return "DC";
                }
                catch (OperationCanceledException) when (deadline?.Expired is StreamTimeoutKind.Duration)
                {
                    result = UpstreamAttemptResult.Failed(UpstreamFailureKind.Timeout);
                }
                catch (OperationCanceledException) when (perTry?.IsCancellationRequested == true)
                {
                    clusterStats.UpstreamRqPerTryTimeout.Increment();
                    result = UpstreamAttemptResult.Failed(UpstreamFailureKind.PerTryTimeout);
                }
                catch (HttpRequestException e)
                {
                    result = UpstreamAttemptResult.Failed(Classify(e, clusterStats));
                }
                finally
                {
                    endpoint.EndRequest();
                    clusterStats.UpstreamRqActive.Decrement();
                    clusterStats.UpstreamRqCompleted.Increment();
                }

                cluster.ReportAttempt(endpoint, result);
                if (holdingRetry)
                {
                    breakers.ReleaseRetry();
                    holdingRetry = false;
                }

                var retriable = result.IsResponse
                    ? policy.RetriesResponse(result.StatusCode, grpcStatus, headersMatched)
                    : policy.RetriesFailure(result.Failure);

                // A body the client is still sending, or one too large to keep, cannot be sent again.
                var retry = retriable && (body is null || body.CanReplay);
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
                    if (response is null)
                    {
                        return await FailureReplyAsync(context, result.Failure, clusterStats).ConfigureAwait(false);
                    }

                    if (retries > 0 && !retriable)
                    {
                        clusterStats.UpstreamRqRetrySuccess.Increment();
                    }

                    using (response)
                    {
                        // The route timeout covers the wait for the response head; streams go on.
                        deadline?.Stop();
                        perTry?.CancelAfter(Timeout.InfiniteTimeSpan);
                        return await RelayResponseAsync(context, response, route, clusterStats, time, upstreamStart, head.StreamGuard, retries + 1).ConfigureAwait(false);
                    }
                }

                response?.Dispose();
                holdingRetry = true;
                retries++;
                clusterStats.UpstreamRqRetry.Increment();
                var backoff = policy.Backoff(retries, (uint)Random.Shared.Next());
                if (backoff > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(backoff, time, exchange.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                    {
                        return "DC";
                    }
                    catch (OperationCanceledException)
                    {
                        return await FailureReplyAsync(context, UpstreamFailureKind.Timeout, clusterStats).ConfigureAwait(false);
                    }
                }

                (tried ??= []).Add(endpoint);
                var next = cluster.PickForRetry(
                    new LoadBalancerContext(action.HashPolicies.Count > 0 ? action.ComputeHash(head) : null, originalDestination), tried);
                if (next is null)
                {
                    await LocalReplyAsync(context, 503, LocalReplies.NoHealthyUpstream).ConfigureAwait(false);
                    return "UH";
                }

                endpoint = next;
            }
        }
        finally
        {
            // A route timeout that fired may still cancel the source from the sweeper's thread: not reused then.
            var expired = deadline is not null && manager.StreamSweeper.Return(deadline);
            LinkedCancellationPool.Shared.Return(exchange, reusable: !expired);
            if (holdingRetry)
            {
                breakers.ReleaseRetry();
            }
        }
    }

    /// <summary>A response header's first value, for retriable_headers (only on policies that list them).</summary>
    private static bool ResponseHeader(HttpResponseMessage response, HeaderCondition condition, out ReadOnlySpan<byte> value)
    {
        var name = condition.Name;
        if (response.Headers.NonValidated.TryGetValues(name, out var values)
            || response.Content.Headers.NonValidated.TryGetValues(name, out values))
        {
            foreach (var first in values)
            {
                value = System.Text.Encoding.Latin1.GetBytes(first);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>grpc-status in the response head (a trailers-only reply), or -1.</summary>
    private static int GrpcStatusOf(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues("grpc-status", out var values)
        && int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var status)
            ? status
            : -1;
}
