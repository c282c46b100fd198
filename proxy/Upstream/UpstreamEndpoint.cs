using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>
/// One address of a cluster, with its connection pool. The same object lives as long as
/// its address stays in the cluster, so its pool and request count survive endpoint updates.
/// </summary>
internal sealed class UpstreamEndpoint : IAsyncDisposable
{
    private int _activeRequests;
    private uint _weight;

    public UpstreamEndpoint(IPEndPoint address, string hostName, uint weight, ClusterConfig cluster, ClusterStats stats)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(cluster);
        Address = address;
        HostName = hostName;
        AddressText = address.ToString();
        _weight = weight == 0 ? 1 : weight;
        Http1Pool = new Http1ConnectionPool(address, cluster.ConnectTimeout, stats, cluster.SourceAddress);
    }

    public IPEndPoint Address { get; }

    /// <summary>The configured host (DNS name or IP literal), for auto_host_rewrite.</summary>
    public string HostName { get; }

    /// <summary>"10.0.0.1:8080" or "[::1]:8080", computed once for logs and %UPSTREAM_HOST%.</summary>
    public string AddressText { get; }

    /// <summary>load_balancing_weight; load balancers read it when they are built.</summary>
    public uint Weight => Volatile.Read(ref _weight);

    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    public Http1ConnectionPool Http1Pool { get; }

    public void BeginRequest() => Interlocked.Increment(ref _activeRequests);

    public void EndRequest() => Interlocked.Decrement(ref _activeRequests);

    public override string ToString() => AddressText;

    /// <summary>Disposes the pool once the endpoint has left its cluster (if the pool is disposable).</summary>
    public ValueTask DisposeAsync()
    {
        // Cast through object: the pool's disposal lives in another part of the partial class.
        object pool = Http1Pool;
        if (pool is IAsyncDisposable asyncDisposable)
        {
            return asyncDisposable.DisposeAsync();
        }

        if (pool is IDisposable disposable)
        {
            disposable.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>An endpoint update changed the weight of an address that stays.</summary>
    internal void SetWeight(uint weight) => Volatile.Write(ref _weight, weight == 0 ? 1 : weight);
}
