using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Herald.Proxy.Admin;

/// <summary>Renders <c>/clusters</c> in Envoy's <c>cluster::address::stat::value</c> text form, or its JSON form.</summary>
internal static class ClustersRenderer
{
    // Herald does not yet know why an endpoint is unhealthy; active health checking is the usual cause.
    private const string UnhealthyFlags = "/failed_active_hc";

    public static string RenderText(IReadOnlyList<ClusterView> clusters)
    {
        var builder = new StringBuilder(1024);
        foreach (var cluster in Sorted(clusters))
        {
            builder.Append(cluster.Name).Append("::observability_name::").Append(cluster.Name).Append('\n');
            foreach (var endpoint in cluster.Endpoints)
            {
                Line(builder, cluster.Name, endpoint.Address, "cx_active", endpoint.ActiveConnections.ToString(CultureInfo.InvariantCulture));
                Line(builder, cluster.Name, endpoint.Address, "rq_active", endpoint.ActiveRequests.ToString(CultureInfo.InvariantCulture));
                Line(builder, cluster.Name, endpoint.Address, "rq_total", endpoint.RequestsTotal.ToString(CultureInfo.InvariantCulture));
                Line(builder, cluster.Name, endpoint.Address, "health_flags", endpoint.Healthy ? "healthy" : UnhealthyFlags);
                Line(builder, cluster.Name, endpoint.Address, "weight", endpoint.Weight.ToString(CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    public static byte[] RenderJson(IReadOnlyList<ClusterView> clusters)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("cluster_statuses");
            foreach (var cluster in Sorted(clusters))
            {
                json.WriteStartObject();
                json.WriteString("name", cluster.Name);
                json.WriteString("observability_name", cluster.Name);
                json.WriteStartArray("host_statuses");
                foreach (var endpoint in cluster.Endpoints)
                {
                    json.WriteStartObject();
                    json.WriteStartObject("address");
                    json.WriteStartObject("socket_address");
                    if (IPEndPoint.TryParse(endpoint.Address, out var parsed))
                    {
                        json.WriteString("address", parsed.Address.ToString());
                        json.WriteNumber("port_value", parsed.Port);
                    }
                    else
                    {
                        json.WriteString("address", endpoint.Address);
                    }

                    json.WriteEndObject();
                    json.WriteEndObject();

                    // Proto JSON renders 64-bit integers as strings; Envoy's stats follow that.
                    json.WriteStartArray("stats");
                    Stat(json, "cx_active", endpoint.ActiveConnections, gauge: true);
                    Stat(json, "rq_active", endpoint.ActiveRequests, gauge: true);
                    Stat(json, "rq_total", endpoint.RequestsTotal, gauge: false);
                    json.WriteEndArray();

                    json.WriteStartObject("health_status");
                    if (endpoint.Healthy)
                    {
                        json.WriteString("eds_health_status", "HEALTHY");
                    }
                    else
                    {
                        json.WriteBoolean("failed_active_health_check", true);
                    }

                    json.WriteEndObject();
                    json.WriteNumber("weight", endpoint.Weight);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void Stat(Utf8JsonWriter json, string name, long value, bool gauge)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        if (gauge)
        {
            json.WriteString("type", "GAUGE");
        }

        json.WriteString("value", value.ToString(CultureInfo.InvariantCulture));
        json.WriteEndObject();
    }

    private static void Line(StringBuilder builder, string cluster, string address, string stat, string value) =>
        builder.Append(cluster).Append("::").Append(address).Append("::").Append(stat).Append("::").Append(value).Append('\n');

    private static List<ClusterView> Sorted(IReadOnlyList<ClusterView> clusters)
    {
        var sorted = new List<ClusterView>(clusters);
        sorted.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return sorted;
    }
}
