using System.Globalization;
using System.Text;
using System.Text.Json;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Admin;

/// <summary>Renders <c>/stats</c> as Envoy does: <c>name: value</c> lines, or its JSON form.</summary>
internal static class StatsTextRenderer
{
    /// <summary>The quantiles Envoy reports for every histogram, in percent.</summary>
    public static readonly double[] SupportedQuantiles = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

    public static string RenderText(StatsStore store, StatsQuery query)
    {
        var builder = new StringBuilder(4096);
        foreach (var (name, value) in CollectNumeric(store, query))
        {
            builder.Append(name).Append(": ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        foreach (var histogram in CollectHistograms(store, query))
        {
            builder.Append(histogram.Key.FlatName).Append(": ");
            if (histogram.Count == 0)
            {
                builder.Append("No recorded values\n");
                continue;
            }

            for (var i = 0; i < SupportedQuantiles.Length; i++)
            {
                if (i > 0)
                {
                    builder.Append(' ');
                }

                // Herald keeps no interval histograms, so the interval value is always nan.
                builder.Append('P').Append(FormatShortest(SupportedQuantiles[i])).Append("(nan,")
                    .Append(FormatShortest(histogram.Quantile(SupportedQuantiles[i] / 100))).Append(')');
            }

            builder.Append('\n');
        }

        return builder.ToString();
    }

    public static byte[] RenderJson(StatsStore store, StatsQuery query)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("stats");
            foreach (var (name, value) in CollectNumeric(store, query))
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteNumber("value", value);
                json.WriteEndObject();
            }

            var histograms = CollectHistograms(store, query);
            if (histograms.Count > 0)
            {
                json.WriteStartObject();
                json.WriteStartObject("histograms");
                json.WriteStartArray("supported_quantiles");
                foreach (var q in SupportedQuantiles)
                {
                    json.WriteNumberValue(q);
                }

                json.WriteEndArray();
                json.WriteStartArray("computed_quantiles");
                foreach (var histogram in histograms)
                {
                    json.WriteStartObject();
                    json.WriteString("name", histogram.Key.FlatName);
                    json.WriteStartArray("values");
                    foreach (var q in SupportedQuantiles)
                    {
                        json.WriteStartObject();
                        json.WriteNull("interval");
                        var cumulative = histogram.Quantile(q / 100);
                        if (double.IsNaN(cumulative))
                        {
                            json.WriteNull("cumulative");
                        }
                        else
                        {
                            json.WriteNumber("cumulative", cumulative);
                        }

                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Counters and gauges together, sorted by name, as Envoy lists them.</summary>
    private static List<(string Name, long Value)> CollectNumeric(StatsStore store, StatsQuery query)
    {
        var result = new List<(string Name, long Value)>();
        foreach (var counter in store.Counters)
        {
            var value = counter.Value;
            if (query.Includes(counter.Key.FlatName, value != 0))
            {
                result.Add((counter.Key.FlatName, value));
            }
        }

        foreach (var gauge in store.Gauges)
        {
            var value = gauge.Value;
            if (query.Includes(gauge.Key.FlatName, value != 0))
            {
                result.Add((gauge.Key.FlatName, value));
            }
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    private static List<Histogram> CollectHistograms(StatsStore store, StatsQuery query)
    {
        var result = new List<Histogram>();
        foreach (var histogram in store.Histograms)
        {
            if (query.Includes(histogram.Key.FlatName, histogram.Count != 0))
            {
                result.Add(histogram);
            }
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Key.FlatName, b.Key.FlatName));
        return result;
    }

    private static string FormatShortest(double value) =>
        double.IsNaN(value) ? "nan" : value.ToString(CultureInfo.InvariantCulture);
}
