using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Activation;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Tcp;

/// <summary>
/// Envoy's <c>envoy.filters.network.tcp_proxy</c>: picks a cluster and an endpoint, connects,
/// and relays bytes both ways until both directions end. One handler serves every
/// connection of a filter chain.
/// </summary>
internal sealed class TcpProxyHandler
{
    // Timers and timed cancellation take at most this (about 49 days); longer is re-armed or treated as infinite.
    internal static readonly TimeSpan MaxTimerDue = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly TcpProxyConfig _config;
    private readonly Func<string, Cluster?> _clusters;
    private readonly TcpProxyStats _stats;
    private readonly TimeProvider _time;
    private readonly Func<IPEndPoint, CancellationToken, ValueTask<Socket>>? _connect;

    public TcpProxyHandler(TcpProxyConfig config, Func<string, Cluster?> clusters, StatsStore stats, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _clusters = clusters;
        _stats = config.Stats ?? new TcpProxyStats(stats, config.StatPrefix);
        _time = time;
    }

    /// <summary>Takes the connect step as a parameter, so tests can hold a connection attempt open.</summary>
    internal TcpProxyHandler(
        TcpProxyConfig config,
        Func<string, Cluster?> clusters,
        StatsStore stats,
        TimeProvider time,
        Func<IPEndPoint, CancellationToken, ValueTask<Socket>> connect)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _clusters = clusters;
        _stats = config.Stats ?? new TcpProxyStats(stats, config.StatPrefix);
        _time = time;
        _connect = connect;
    }

    /// <summary>Proxies one downstream connection; returns when both directions are done.</summary>
    public Task HandleAsync(IDuplexPipe downstream, EndPoint? remote, CancellationToken cancellationToken) =>
        HandleAsync(downstream, remote, null, cancellationToken);

    /// <summary>
    /// Proxies one downstream connection; <paramref name="originalDestination"/> is where it was
    /// going before a redirect (an ORIGINAL_DST cluster connects there).
    /// </summary>
    public async Task HandleAsync(IDuplexPipe downstream, EndPoint? remote, IPEndPoint? originalDestination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        var startTime = _time.GetUtcNow();
        var startTimestamp = _time.GetTimestamp();
        _stats.DownstreamCxTotal.Increment();

        var cluster = _clusters(_config.PickCluster(NextRandom()));
        if (cluster is null)
        {
            _stats.DownstreamCxNoRoute.Increment();
            await CloseDownstreamAsync(downstream);
            Log(startTime, startTimestamp, "NC", null, 0, 0);
            return;
        }

        var lease = default(ActivationLease);
        if (cluster.Gate is { } gate)
        {
            // A connection to a cluster with no endpoint (or at its limit) waits, unread, like a request.
            var wait = await ActivationWait.AcquireAsync(gate, TimeSpan.Zero, _time, cancellationToken);
            if (!wait.Admitted)
            {
                await CloseDownstreamAsync(downstream);
                Log(startTime, startTimestamp, wait.Outcome == ActivationOutcome.Cancelled ? "DC" : "UO", null, 0, 0);
                return;
            }

            lease = wait.Lease;
        }

        using var held = lease;
        var endpoint = cluster.Pick(new LoadBalancerContext(null, originalDestination));
        if (endpoint is null)
        {
            await CloseDownstreamAsync(downstream);
            Log(startTime, startTimestamp, "UH", null, 0, 0);
            return;
        }

        endpoint.BeginRequest();
        try
        {
            var upstream = await ConnectAsync(cluster, endpoint, cancellationToken);
            // Outlier detection judges TCP connects too: a refused one counts against the host.
            cluster.ReportAttempt(endpoint, upstream is null ? UpstreamAttemptResult.Failed(UpstreamFailureKind.ConnectFailure) : UpstreamAttemptResult.Response(200));
            if (upstream is null)
            {
                await CloseDownstreamAsync(downstream);
                Log(startTime, startTimestamp, "UF", endpoint.AddressText, 0, 0);
                return;
            }

            cluster.Stats.UpstreamCxActive.Increment();
            using var relay = new TcpRelay(downstream, upstream, _time, _config.IdleTimeout, _stats, cluster.Stats);
            try
            {
                await relay.RunAsync(cancellationToken);
            }
            finally
            {
                cluster.Stats.UpstreamCxActive.Decrement();
                cluster.Stats.UpstreamCxDestroy.Increment();
            }

            Log(startTime, startTimestamp, relay.ResponseFlags, endpoint.AddressText, relay.BytesFromDownstream, relay.BytesToDownstream);
        }
        finally
        {
            endpoint.EndRequest();
        }
    }

    private async ValueTask<Socket?> ConnectAsync(Cluster cluster, UpstreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        var stats = cluster.Stats;
        stats.UpstreamCxTotal.Increment();
        var timeout = cluster.Config.ConnectTimeout;
        using var timeoutSource = timeout > TimeSpan.Zero && timeout < MaxTimerDue
            ? new CancellationTokenSource(timeout, _time)
            : new CancellationTokenSource();
        using var link = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeoutSource);
        try
        {
            return _connect is null
                ? await UpstreamSocketFactory.ConnectAsync(endpoint.Address, cluster.Config.SourceAddress, timeoutSource.Token)
                : await _connect(endpoint.Address, timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Like Envoy, a timed-out attempt is both a timeout and a connect failure.
            stats.UpstreamCxConnectTimeout.Increment();
            stats.UpstreamCxConnectFail.Increment();
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException)
        {
            stats.UpstreamCxConnectFail.Increment();
            return null;
        }
    }

    private static async ValueTask CloseDownstreamAsync(IDuplexPipe downstream)
    {
        await downstream.Output.CompleteAsync();
        await downstream.Input.CompleteAsync();
    }

    private void Log(DateTimeOffset startTime, long startTimestamp, string flags, string? upstreamHost, long received, long sent)
    {
        var sinks = _config.AccessLogs;
        if (sinks.Count == 0)
        {
            return;
        }

        var entry = new AccessLogEntry
        {
            StartTime = startTime,
            ResponseFlags = flags,
            BytesReceived = received,
            BytesSent = sent,
            DurationMs = (long)_time.GetElapsedTime(startTimestamp).TotalMilliseconds,
            UpstreamHost = upstreamHost,
        };
        for (var i = 0; i < sinks.Count; i++)
        {
            sinks[i].Log(entry);
        }
    }

    private static uint NextRandom() => (uint)Random.Shared.NextInt64(0, 1L << 32);
}
