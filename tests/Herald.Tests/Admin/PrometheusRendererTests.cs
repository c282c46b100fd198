using Herald.Proxy.Admin;
using Herald.Proxy.Observability.Stats;
using Xunit;

namespace Herald.Tests.Admin;

public sealed class PrometheusRendererTests
{
    [Fact]
    public void Render_CountersAndGauges_GroupsByNameWithOneTypeLineEach()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("b", "upstream_rq_total")).Add(2);
        store.Counter(StatKey.Cluster("a", "upstream_rq_total")).Add(7);
        store.Counter(StatKey.Global("access_log.dropped"));
        store.Gauge(StatKey.Cluster("a", "upstream_rq_active")).Set(3);

        var text = PrometheusRenderer.Render(store, StatsQuery.All);

        Assert.Equal(
            "# TYPE envoy_access_log_dropped counter\n" +
            "envoy_access_log_dropped{} 0\n" +
            "\n" +
            "# TYPE envoy_cluster_upstream_rq_total counter\n" +
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"a\"} 7\n" +
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"b\"} 2\n" +
            "\n" +
            "# TYPE envoy_cluster_upstream_rq_active gauge\n" +
            "envoy_cluster_upstream_rq_active{envoy_cluster_name=\"a\"} 3\n" +
            "\n",
            text);
    }

    [Fact]
    public void Render_CodeClassCounters_ShareOneMetricTaggedByClass()
    {
        var store = new StatsStore();
        var scope = StatKey.Cluster("a", "upstream_rq");
        store.Counter(StatKey.CodeClass(scope, "upstream_rq", 5)).Add(1);
        store.Counter(StatKey.CodeClass(scope, "upstream_rq", 2)).Add(3);

        var text = PrometheusRenderer.Render(store, StatsQuery.All);

        Assert.Equal(
            "# TYPE envoy_cluster_upstream_rq_xx counter\n" +
            "envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"2\",envoy_cluster_name=\"a\"} 3\n" +
            "envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"5\",envoy_cluster_name=\"a\"} 1\n" +
            "\n",
            text);
    }

    [Fact]
    public void Render_Histogram_WritesCumulativeBucketsSumAndCount()
    {
        var store = new StatsStore();
        var histogram = store.Histogram(StatKey.Cluster("a", "upstream_rq_time"));
        histogram.Record(3);
        histogram.Record(0.5);

        var text = PrometheusRenderer.Render(store, StatsQuery.All);

        const string Series = "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",";
        Assert.Equal(
            "# TYPE envoy_cluster_upstream_rq_time histogram\n" +
            Series + "le=\"0.5\"} 1\n" +
            Series + "le=\"1\"} 1\n" +
            Series + "le=\"5\"} 2\n" +
            Series + "le=\"10\"} 2\n" +
            Series + "le=\"25\"} 2\n" +
            Series + "le=\"50\"} 2\n" +
            Series + "le=\"100\"} 2\n" +
            Series + "le=\"250\"} 2\n" +
            Series + "le=\"500\"} 2\n" +
            Series + "le=\"1000\"} 2\n" +
            Series + "le=\"2500\"} 2\n" +
            Series + "le=\"5000\"} 2\n" +
            Series + "le=\"10000\"} 2\n" +
            Series + "le=\"30000\"} 2\n" +
            Series + "le=\"60000\"} 2\n" +
            Series + "le=\"300000\"} 2\n" +
            Series + "le=\"600000\"} 2\n" +
            Series + "le=\"1800000\"} 2\n" +
            Series + "le=\"3600000\"} 2\n" +
            Series + "le=\"+Inf\"} 2\n" +
            "envoy_cluster_upstream_rq_time_sum{envoy_cluster_name=\"a\"} 3.5\n" +
            "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"a\"} 2\n" +
            "\n",
            text);
    }

    [Fact]
    public void Render_LabelValueWithQuoteBackslashAndNewline_IsEscaped()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("a\"b\\c\nd", "upstream_rq_total")).Increment();

        var text = PrometheusRenderer.Render(store, StatsQuery.All);

        Assert.Contains("envoy_cluster_upstream_rq_total{envoy_cluster_name=\"a\\\"b\\\\c\\nd\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_UsedOnlyAndFilter_LeaveOutOtherStats()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("a", "upstream_rq_total")).Increment();
        store.Counter(StatKey.Cluster("b", "upstream_rq_total")).Increment();
        store.Counter(StatKey.Cluster("a", "upstream_cx_total"));

        var usedOnly = PrometheusRenderer.Render(store, StatsQuery.Create(null, usedOnly: true, out _)!);
        var filtered = PrometheusRenderer.Render(store, StatsQuery.Create("^cluster\\.b\\.", usedOnly: false, out _)!);

        Assert.DoesNotContain("upstream_cx_total", usedOnly, StringComparison.Ordinal);
        Assert.Contains("envoy_cluster_name=\"a\"} 1", usedOnly, StringComparison.Ordinal);
        Assert.Equal(
            "# TYPE envoy_cluster_upstream_rq_total counter\n" +
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"b\"} 1\n\n",
            filtered);
    }

    [Fact]
    public void SanitizeName_NonPrometheusCharacters_BecomeUnderscores()
    {
        Assert.Equal("envoy_a_b_c:d", PrometheusRenderer.SanitizeName("envoy_a.b-c:d"));
    }
}
