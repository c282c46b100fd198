using System.Reflection;
using BenchmarkDotNet.Attributes;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;

namespace Herald.Benchmarks;

/// <summary>
/// Config translation: the demo bootstrap (docs/examples/demo.yaml, embedded) from YAML text
/// to a validated ProxyConfig, and one Cluster proto to a ClusterConfig (the per-resource
/// cost of a CDS update).
/// </summary>
[MemoryDiagnoser]
public class XdsTranslateBenchmarks
{
    private string _demoYaml = string.Empty;
    private EnvoyCluster _cluster = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("demo.yaml")
            ?? throw new InvalidOperationException("demo.yaml is not embedded");
        using var reader = new StreamReader(stream);

        // The access log goes to /dev/null instead of the terminal BenchmarkDotNet reports to.
        _demoYaml = reader.ReadToEnd().Replace("path: /dev/stdout", "path: /dev/null", StringComparison.Ordinal);
        _cluster = BootstrapLoader.Parse(_demoYaml).StaticResources.Clusters[0];
    }

    [Benchmark(Description = "demo.yaml: YAML -> Bootstrap proto -> ProxyConfig")]
    public object ParseAndTranslateBootstrap()
    {
        var bootstrap = BootstrapLoader.Parse(_demoYaml);
        var config = BootstrapTranslator.Translate(bootstrap, new StatsStore());
        CloseAccessLogs(config);
        return config;
    }

    [Benchmark(Description = "demo.yaml: YAML -> Bootstrap proto only")]
    public object ParseBootstrap() => BootstrapLoader.Parse(_demoYaml);

    [Benchmark(Description = "one Cluster proto -> ClusterConfig")]
    public object TranslateCluster() => ClusterTranslator.Translate(_cluster, "static_resources.clusters[0]");

    /// <summary>The translator opens access log files; close them so iterations do not leak writers.</summary>
    private static void CloseAccessLogs(ProxyConfig config)
    {
        foreach (var listener in config.Listeners)
        {
            foreach (var chain in listener.DefaultFilterChain is null ? listener.FilterChains : [.. listener.FilterChains, listener.DefaultFilterChain])
            {
                if (chain.Http is null)
                {
                    continue;
                }

                foreach (var sink in chain.Http.AccessLogs)
                {
                    if (sink is IAsyncDisposable disposable)
                    {
                        disposable.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                }
            }
        }
    }
}
