using System.Net;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Tests.Tcp;

/// <summary>The one place the TCP tests build clusters.</summary>
internal static class TestClusters
{
    public static Cluster Create(StatsStore stats, string name, TimeSpan connectTimeout, params IPEndPoint[] endpoints)
    {
        var config = new ClusterConfig
        {
            Name = name,
            ConnectTimeout = connectTimeout,
            Endpoints = [.. endpoints.Select(e => new EndpointConfig(e.Address.ToString(), e.Port, 1, 0, true))],
        };
        var cluster = new Cluster(config, stats, TimeProvider.System, new SystemDnsResolver());
        cluster.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return cluster;
    }
}
