using System.Net;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Tests.Tcp;

/// <summary>The one place the TCP tests build clusters (adapt here when Cluster's constructor changes).</summary>
internal static class TestClusters
{
    public static Cluster Create(StatsStore stats, string name, TimeSpan connectTimeout, params IPEndPoint[] endpoints) =>
        new(name, new ClusterConfig { ConnectTimeout = connectTimeout }, stats, [.. endpoints.Select(e => new UpstreamEndpoint(e))]);
}
