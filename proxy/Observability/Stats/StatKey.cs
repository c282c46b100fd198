namespace Herald.Proxy.Observability.Stats;

/// <summary>A stat's Envoy names: the flat dotted name of <c>/stats</c> and the Prometheus name with tags.</summary>
internal sealed record StatKey(string FlatName, string PrometheusName, IReadOnlyList<KeyValuePair<string, string>> Tags)
{
    private static readonly IReadOnlyList<KeyValuePair<string, string>> NoTags = [];

    /// <summary><c>cluster.NAME.STAT</c>, tagged <c>envoy_cluster_name</c>.</summary>
    public static StatKey Cluster(string cluster, string stat) =>
        new($"cluster.{cluster}.{stat}", $"envoy_cluster_{stat}", [new("envoy_cluster_name", cluster)]);

    /// <summary><c>http.PREFIX.STAT</c>, tagged <c>envoy_http_conn_manager_prefix</c>.</summary>
    public static StatKey Http(string statPrefix, string stat) =>
        new($"http.{statPrefix}.{stat}", $"envoy_http_{stat}", [new("envoy_http_conn_manager_prefix", statPrefix)]);

    /// <summary><c>tcp.PREFIX.STAT</c>, tagged <c>envoy_tcp_prefix</c>.</summary>
    public static StatKey Tcp(string statPrefix, string stat) =>
        new($"tcp.{statPrefix}.{stat}", $"envoy_tcp_{stat}", [new("envoy_tcp_prefix", statPrefix)]);

    /// <summary><c>listener.ADDRESS.STAT</c>, tagged <c>envoy_listener_address</c>.</summary>
    public static StatKey Listener(string address, string stat) =>
        new($"listener.{address}.{stat}", $"envoy_listener_{stat}", [new("envoy_listener_address", address)]);

    /// <summary>
    /// Response code class stats (<c>downstream_rq_2xx</c>, <c>upstream_rq_5xx</c>): Envoy
    /// exports them as one Prometheus metric <c>..._xx</c> tagged <c>envoy_response_code_class</c>.
    /// </summary>
    public static StatKey CodeClass(StatKey scope, string statStem, int codeClass)
    {
        var tags = new List<KeyValuePair<string, string>>(scope.Tags.Count + 1)
        {
            new("envoy_response_code_class", codeClass.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        tags.AddRange(scope.Tags);
        var lastDot = scope.FlatName.LastIndexOf('.');
        var flatPrefix = scope.FlatName[..(lastDot + 1)];
        var statName = scope.FlatName[(lastDot + 1)..];
        var promPrefix = scope.PrometheusName[..^statName.Length];
        return new($"{flatPrefix}{statStem}_{codeClass}xx", $"{promPrefix}{statStem}_xx", tags);
    }

    /// <summary>A stat with no tag, such as <c>control_plane.connected_state</c>.</summary>
    public static StatKey Global(string flatName) =>
        new(flatName, "envoy_" + flatName.Replace('.', '_'), NoTags);
}
