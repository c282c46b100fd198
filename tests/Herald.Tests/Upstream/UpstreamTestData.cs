using System.Collections.Immutable;
using System.Net;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

/// <summary>Endpoints and counting helpers shared by the load balancer tests.</summary>
internal static class UpstreamTestData
{
    private static readonly ClusterConfig Config = new() { Name = "test" };
    private static readonly ClusterStats Stats = new(new StatsStore(), "test");

    public static UpstreamEndpoint Endpoint(string ip, int port = 8080, uint weight = 1) =>
        new(new IPEndPoint(IPAddress.Parse(ip), port), ip, weight, Config, Stats);

    /// <summary>Hosts 10.0.0.1, 10.0.0.2, ... with the given weights.</summary>
    public static ImmutableArray<UpstreamEndpoint> Hosts(params uint[] weights)
    {
        var builder = ImmutableArray.CreateBuilder<UpstreamEndpoint>(weights.Length);
        for (var i = 0; i < weights.Length; i++)
        {
            builder.Add(Endpoint($"10.0.0.{i + 1}", weight: weights[i]));
        }

        return builder.ToImmutable();
    }

    public static Dictionary<UpstreamEndpoint, int> Count(ILoadBalancer balancer, int picks, Func<int, ulong?>? hash = null)
    {
        var counts = new Dictionary<UpstreamEndpoint, int>();
        for (var i = 0; i < picks; i++)
        {
            var picked = balancer.Pick(new LoadBalancerContext(hash?.Invoke(i)));
            Assert.NotNull(picked);
            counts[picked] = counts.GetValueOrDefault(picked) + 1;
        }

        return counts;
    }

    /// <summary>A well-spread 64-bit key for request i (splitmix64).</summary>
    public static ulong Key(int i)
    {
        var z = (ulong)i + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
