using Herald.Proxy.Observability.Stats;
using Xunit;

namespace Herald.Tests.Observability.Stats;

public sealed class StatKeyTests
{
    [Fact]
    public void CodeClass_ClusterScope_UsesEnvoyFlatAndPrometheusNames()
    {
        var key = StatKey.CodeClass(StatKey.Cluster("a", "upstream_rq"), "upstream_rq", 2);

        Assert.Equal("cluster.a.upstream_rq_2xx", key.FlatName);
        Assert.Equal("envoy_cluster_upstream_rq_xx", key.PrometheusName);
        Assert.Equal("envoy_response_code_class", key.Tags[0].Key);
        Assert.Equal("2", key.Tags[0].Value);
        Assert.Equal("a", key.Tags[1].Value);
    }
}
