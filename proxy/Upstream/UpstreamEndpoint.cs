using System.Net;
using Herald.Proxy.Upstream.Health;

namespace Herald.Proxy.Upstream;

/// <summary>
/// One address of a cluster, with its connection pool. The same object lives as long as
/// its address stays in the cluster, so its pool and request count survive endpoint updates.
/// </summary>
internal sealed class UpstreamEndpoint : IAsyncDisposable
{
    /// <summary>Health flag: ejected by outlier detection.</summary>
    public const int FailedOutlierCheck = 1;

    /// <summary>Health flag: failing (or not yet passed) active health checks.</summary>
    public const int FailedActiveHealthCheck = 2;

    private int _activeRequests;
    private Uri? _lastRequestUri;
    private uint _weight;
    private int _healthFlags;
    private readonly ClusterConfig _cluster;
    private readonly ClusterStats _stats;
    private readonly TimeProvider _time;
    private Http2.Http2ConnectionPool? _http2Pool;

    public UpstreamEndpoint(IPEndPoint address, string hostName, uint weight, ClusterConfig cluster, ClusterStats stats, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(cluster);
        Address = address;
        HostName = hostName;
        AddressText = address.ToString();
        Origin = (cluster.Tls is null ? "http://" : "https://") + AddressText;
        _weight = weight == 0 ? 1 : weight;
        Http1Pool = new Http1ConnectionPool(address, cluster.ConnectTimeout, stats, cluster.SourceAddress) { Tls = cluster.Tls };
        _cluster = cluster;
        _stats = stats;
        _time = time ?? TimeProvider.System;
    }

    public IPEndPoint Address { get; }

    /// <summary>The configured host (DNS name or IP literal), for auto_host_rewrite.</summary>
    public string HostName { get; }

    /// <summary>"10.0.0.1:8080" or "[::1]:8080", computed once for logs and %UPSTREAM_HOST%.</summary>
    public string AddressText { get; }

    /// <summary>"http://ADDRESS" or, for a cluster with an UpstreamTlsContext, "https://ADDRESS": the start of SocketsHttpHandler request URIs.</summary>
    public string Origin { get; }

    /// <summary>
    /// <see cref="Origin"/> + <paramref name="pathAndQuery"/> as a request URI for SocketsHttpHandler.
    /// The last one made is kept and shared (a Uri is immutable): gRPC methods, health checks
    /// and hot paths repeat, and each reuse saves a string concatenation and a Uri parse.
    /// </summary>
    public Uri RequestUri(string pathAndQuery)
    {
        var last = Volatile.Read(ref _lastRequestUri);
        if (last is not null
            && last.OriginalString.Length == Origin.Length + pathAndQuery.Length
            && last.OriginalString.AsSpan(Origin.Length).SequenceEqual(pathAndQuery))
        {
            return last;
        }

        var uri = new Uri(Origin + pathAndQuery);
        Volatile.Write(ref _lastRequestUri, uri);
        return uri;
    }

    /// <summary>load_balancing_weight; load balancers read it when they are built.</summary>
    public uint Weight => Volatile.Read(ref _weight);

    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    public Http1ConnectionPool Http1Pool { get; }

    /// <summary>Herald's own HTTP/2 connections to this address (cleartext h2c), made on first use.</summary>
    public Http2.Http2ConnectionPool Http2Pool
    {
        get
        {
            var pool = Volatile.Read(ref _http2Pool);
            if (pool is not null)
            {
                return pool;
            }

            var created = new Http2.Http2ConnectionPool(Address, _cluster.ConnectTimeout, _stats, _cluster.SourceAddress, _time);
            return Interlocked.CompareExchange(ref _http2Pool, created, null) ?? created;
        }
    }

    public void BeginRequest() => Interlocked.Increment(ref _activeRequests);

    public void EndRequest() => Interlocked.Decrement(ref _activeRequests);

    /// <summary>
    /// Outlier detection: a response from this host arrived with <paramref name="statusCode"/>
    /// (call once per upstream attempt, with the upstream's own status, before retrying).
    /// 5xx count as failures, 502/503/504 also as gateway failures; anything else ends a
    /// failure streak. Cheap and lock-free; a no-op when the cluster has no outlier_detection.
    /// </summary>
    public void ReportOutcome(int statusCode) => Outlier?.PutHttpStatus(statusCode);

    /// <summary>
    /// Outlier detection: an attempt on this host failed without a response (connect failure,
    /// reset, timeout). Counts as the 503 or 504 the proxy answers in its place; a no-op when
    /// the cluster has no outlier_detection.
    /// </summary>
    public void ReportFailure(UpstreamFailureKind kind)
    {
        if (kind is UpstreamFailureKind.None or UpstreamFailureKind.Overflow)
        {
            return;
        }

        Outlier?.PutHttpStatus(kind is UpstreamFailureKind.Timeout or UpstreamFailureKind.PerTryTimeout ? 504 : 503);
    }

    /// <summary>False while outlier detection ejects the host or active health checks fail it.</summary>
    public bool IsAvailable => Volatile.Read(ref _healthFlags) == 0;

    /// <summary>The health flags (<see cref="FailedOutlierCheck"/>, <see cref="FailedActiveHealthCheck"/>) set now.</summary>
    public int HealthFlags => Volatile.Read(ref _healthFlags);

    /// <summary>Set once, before the endpoint is published, when the cluster has outlier detection.</summary>
    internal OutlierHostMonitor? Outlier { get; set; }

    public override string ToString() => AddressText;

    /// <summary>Disposes the pools once the endpoint has left its cluster: idle connections close, busy ones when their streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _http2Pool) is { } http2Pool)
        {
            await http2Pool.DisposeAsync().ConfigureAwait(false);
        }

        await Http1Pool.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>An endpoint update changed the weight of an address that stays.</summary>
    internal void SetWeight(uint weight) => Volatile.Write(ref _weight, weight == 0 ? 1 : weight);

    /// <summary>Sets or clears a health flag; true when that changed it.</summary>
    internal bool SetHealthFlag(int flag, bool set)
    {
        var before = set ? Interlocked.Or(ref _healthFlags, flag) : Interlocked.And(ref _healthFlags, ~flag);
        return ((before & flag) != 0) != set;
    }
}
