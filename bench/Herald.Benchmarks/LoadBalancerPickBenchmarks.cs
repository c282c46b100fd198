using BenchmarkDotNet.Attributes;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Benchmarks;

/// <summary>One endpoint pick from a STATIC cluster of 10 endpoints, per lb_policy.</summary>
[MemoryDiagnoser]
public class LoadBalancerPickBenchmarks
{
    private Cluster _cluster = null!;
    private ulong _hash;

    [Params("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV")]
    public string Policy { get; set; } = "ROUND_ROBIN";

    [GlobalSetup]
    public void Setup()
    {
        var endpoints = new List<EndpointConfig>();
        for (var i = 1; i <= 10; i++)
        {
            endpoints.Add(new EndpointConfig($"10.0.0.{i}", 8080));
        }

        var config = new ClusterConfig
        {
            Name = "bench",
            Type = DiscoveryType.Static,
            LbPolicy = Policy switch
            {
                "ROUND_ROBIN" => LoadBalancerPolicy.RoundRobin,
                "LEAST_REQUEST" => LoadBalancerPolicy.LeastRequest,
                "RANDOM" => LoadBalancerPolicy.Random,
                "RING_HASH" => LoadBalancerPolicy.RingHash,
                "MAGLEV" => LoadBalancerPolicy.Maglev,
                _ => throw new InvalidOperationException(Policy),
            },
            Endpoints = [.. endpoints],
        };
        _cluster = new Cluster(config, new StatsStore(), TimeProvider.System, new SystemDnsResolver());
        _cluster.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        if (_cluster.Pick(new LoadBalancerContext(1)) is null)
        {
            throw new InvalidOperationException("the cluster has no endpoint");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>A different hash each call (as different clients would bring), so hashing policies do real lookups.</summary>
    [Benchmark(Description = "pick")]
    public object? Pick()
    {
        _hash += 0x9E3779B97F4A7C15UL;
        return _cluster.Pick(new LoadBalancerContext(_hash));
    }
}
