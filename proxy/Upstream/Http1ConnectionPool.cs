using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>Idle HTTP/1.1 connections to one upstream endpoint, reused across requests.</summary>
internal sealed partial class Http1ConnectionPool
{
    public Http1ConnectionPool(IPEndPoint address, TimeSpan connectTimeout, ClusterStats stats)
    {
        Address = address;
        ConnectTimeout = connectTimeout;
        Stats = stats;
    }

    public IPEndPoint Address { get; }

    public TimeSpan ConnectTimeout { get; }

    public ClusterStats Stats { get; }
}
