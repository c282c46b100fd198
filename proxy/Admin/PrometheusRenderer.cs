using System.Globalization;
using System.Text;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Admin;

/// <summary>
/// Renders stats in the Prometheus text format 0.0.4 the way Envoy's
/// <c>/stats/prometheus</c> does: counters, then gauges, then histograms; one
/// <c># TYPE</c> line per metric name followed by its series sorted by tags, and a blank line.
/// </summary>
internal static class PrometheusRenderer
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(StatsStore store, StatsQuery query)
    {
        var builder = new StringBuilder(8192);

        var counters = new SortedDictionary<string, List<(StatKey Key, long Value)>>(StringComparer.Ordinal);
        foreach (var counter in store.Counters)
        {
            var value = counter.Value;
            if (query.Includes(counter.Key.FlatName, value != 0))
            {
                Add(counters, counter.Key, value);
            }
        }

        WriteNumeric(builder, counters, "counter");

        var gauges = new SortedDictionary<string, List<(StatKey Key, long Value)>>(StringComparer.Ordinal);
        foreach (var gauge in store.Gauges)
        {
            var value = gauge.Value;
            if (query.Includes(gauge.Key.FlatName, value != 0))
            {
                Add(gauges, gauge.Key, value);
            }
        }

        WriteNumeric(builder, gauges, "gauge");

        var histograms = new SortedDictionary<string, List<(StatKey Key, Histogram Value)>>(StringComparer.Ordinal);
        foreach (var histogram in store.Histograms)
        {
            if (query.Includes(histogram.Key.FlatName, histogram.Count != 0))
            {
                Add(histograms, histogram.Key, histogram);
            }
        }

        foreach (var (name, series) in histograms)
        {
            builder.Append("# TYPE ").Append(name).Append(" histogram\n");
            series.Sort(static (a, b) => CompareTags(a.Key.Tags, b.Key.Tags));
            foreach (var (key, histogram) in series)
            {
                var tags = FormatTags(key.Tags);
                var bucketPrefix = tags.Length == 0 ? string.Empty : tags + ",";
                var cumulative = histogram.CumulativeCounts();
                for (var i = 0; i < Histogram.BucketBounds.Length; i++)
                {
                    builder.Append(name).Append("_bucket{").Append(bucketPrefix).Append("le=\"")
                        .Append(FormatDouble(Histogram.BucketBounds[i])).Append("\"} ")
                        .Append(cumulative[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                builder.Append(name).Append("_bucket{").Append(bucketPrefix).Append("le=\"+Inf\"} ")
                    .Append(cumulative[^1].ToString(CultureInfo.InvariantCulture)).Append('\n');
                builder.Append(name).Append("_sum{").Append(tags).Append("} ")
                    .Append(FormatDouble(histogram.SumMilliseconds)).Append('\n');
                builder.Append(name).Append("_count{").Append(tags).Append("} ")
                    .Append(cumulative[^1].ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            builder.Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>Metric and label names keep only <c>[a-zA-Z0-9_:]</c>, as Envoy sanitizes them.</summary>
    public static string SanitizeName(string name)
    {
        foreach (var c in name)
        {
            if (!IsNameChar(c))
            {
                return string.Create(name.Length, name, static (span, source) =>
                {
                    for (var i = 0; i < source.Length; i++)
                    {
                        span[i] = IsNameChar(source[i]) ? source[i] : '_';
                    }
                });
            }
        }

        return name;
    }

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    public static string EscapeLabelValue(string value)
    {
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => builder.Append("\\\\"),
                '"' => builder.Append("\\\""),
                '\n' => builder.Append("\\n"),
                _ => builder.Append(c),
            };
        }

        return builder.ToString();
    }

    private static void Add<T>(SortedDictionary<string, List<(StatKey Key, T Value)>> groups, StatKey key, T value)
    {
        var name = SanitizeName(key.PrometheusName);
        if (!groups.TryGetValue(name, out var list))
        {
            list = [];
            groups.Add(name, list);
        }

        list.Add((key, value));
    }

    private static void WriteNumeric(StringBuilder builder, SortedDictionary<string, List<(StatKey Key, long Value)>> groups, string type)
    {
        foreach (var (name, series) in groups)
        {
            builder.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            series.Sort(static (a, b) => CompareTags(a.Key.Tags, b.Key.Tags));
            foreach (var (key, value) in series)
            {
                builder.Append(name).Append('{').Append(FormatTags(key.Tags)).Append("} ")
                    .Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            builder.Append('\n');
        }
    }

    private static string FormatTags(IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        if (tags.Count == 0)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        for (var i = 0; i < tags.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }

            builder.Append(SanitizeName(tags[i].Key)).Append("=\"").Append(EscapeLabelValue(tags[i].Value)).Append('"');
        }

        return builder.ToString();
    }

    /// <summary>Series of one metric are ordered by their tags, pair by pair, so output is stable.</summary>
    private static int CompareTags(IReadOnlyList<KeyValuePair<string, string>> a, IReadOnlyList<KeyValuePair<string, string>> b)
    {
        var count = Math.Min(a.Count, b.Count);
        for (var i = 0; i < count; i++)
        {
            var byKey = string.CompareOrdinal(a[i].Key, b[i].Key);
            if (byKey != 0)
            {
                return byKey;
            }

            var byValue = string.CompareOrdinal(a[i].Value, b[i].Value);
            if (byValue != 0)
            {
                return byValue;
            }
        }

        return a.Count.CompareTo(b.Count);
    }

    /// <summary>Envoy prints bounds and sums with <c>%.32g</c>; .NET's G32 gives the same digits.</summary>
    private static string FormatDouble(double value) =>
        value.ToString("G32", CultureInfo.InvariantCulture).Replace('E', 'e');

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':';
}
