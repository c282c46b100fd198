using System.Globalization;
using System.Text.Json;
using Herald.Proxy.Admin;
using Herald.Proxy.Observability.Stats;
using Xunit;

namespace Herald.Tests.Admin;

public sealed class StatsTextRendererTests
{
    [Fact]
    public void RenderText_CountersAndGauges_SortedByNameThenHistograms()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("b", "upstream_rq_total")).Add(2);
        store.Gauge(StatKey.Cluster("a", "upstream_rq_active")).Set(1);
        store.Counter(StatKey.Cluster("a", "upstream_rq_total")).Add(7);
        store.Histogram(StatKey.Cluster("a", "upstream_cx_length_ms"));

        var text = StatsTextRenderer.RenderText(store, StatsQuery.All);

        Assert.Equal(
            "cluster.a.upstream_rq_active: 1\n" +
            "cluster.a.upstream_rq_total: 7\n" +
            "cluster.b.upstream_rq_total: 2\n" +
            "cluster.a.upstream_cx_length_ms: No recorded values\n",
            text);
    }

    [Fact]
    public void RenderText_HistogramWithSamples_PrintsEnvoyQuantiles()
    {
        var store = new StatsStore();
        var histogram = store.Histogram(StatKey.Cluster("a", "upstream_rq_time"));
        for (var i = 0; i < 4; i++)
        {
            histogram.Record(2);
        }

        var text = StatsTextRenderer.RenderText(store, StatsQuery.All);

        string[] labels = ["0", "25", "50", "75", "90", "95", "99", "99.5", "99.9", "100"];
        double[] quantiles = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];
        var expected = "cluster.a.upstream_rq_time:";
        for (var i = 0; i < labels.Length; i++)
        {
            expected += $" P{labels[i]}(nan,{histogram.Quantile(quantiles[i]).ToString(CultureInfo.InvariantCulture)})";
        }

        Assert.Equal(expected + "\n", text);
        Assert.Contains(" P100(nan,5)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderText_FilterIsAPartialRegexMatch()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("a", "upstream_rq_total")).Add(1);
        store.Counter(StatKey.Cluster("a", "upstream_cx_total")).Add(1);

        var text = StatsTextRenderer.RenderText(store, StatsQuery.Create("rq_", usedOnly: false, out _)!);

        Assert.Equal("cluster.a.upstream_rq_total: 1\n", text);
    }

    [Fact]
    public void Create_InvalidRegex_ReturnsError()
    {
        var query = StatsQuery.Create("(", usedOnly: false, out var error);

        Assert.Null(query);
        Assert.NotNull(error);
    }

    [Fact]
    public void RenderJson_ListsNameAndValue()
    {
        var store = new StatsStore();
        store.Counter(StatKey.Cluster("a", "upstream_rq_total")).Add(7);
        store.Histogram(StatKey.Cluster("a", "upstream_rq_time")).Record(1);

        using var document = JsonDocument.Parse(StatsTextRenderer.RenderJson(store, StatsQuery.All));
        var stats = document.RootElement.GetProperty("stats");

        Assert.Equal("cluster.a.upstream_rq_total", stats[0].GetProperty("name").GetString());
        Assert.Equal(7, stats[0].GetProperty("value").GetInt64());
        var computed = stats[1].GetProperty("histograms").GetProperty("computed_quantiles");
        Assert.Equal("cluster.a.upstream_rq_time", computed[0].GetProperty("name").GetString());
        Assert.Equal(10, computed[0].GetProperty("values").GetArrayLength());
    }
}
