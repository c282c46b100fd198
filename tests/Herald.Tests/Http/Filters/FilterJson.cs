using Google.Protobuf;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Filters;
using Herald.Proxy.Observability.Stats;
using Herald.Xds;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace Herald.Tests.Http.Filters;

/// <summary>Builds HTTP connection managers with HTTP filters from Envoy JSON.</summary>
internal static class FilterJson
{
    public const string RateLimitType = LocalRateLimitSettings.TypeUrl;
    public const string FaultType = FaultSettings.TypeUrl;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(EnvoyTypeRegistry.ConfigRegistry));

    /// <summary>An HCM whose http_filters are <paramref name="filters"/> (JSON objects, comma separated) then the router; routes are a JSON array body for one "*" virtual host.</summary>
    public static string HcmJson(string filters, string routes = """{"match":{"prefix":"/"},"route":{"cluster":"c"}}""", string vhostExtra = "") =>
        """{"stat_prefix":"ingress","route_config":{"name":"rc","virtual_hosts":[{"name":"vh","domains":["*"]""" + vhostExtra
        + ""","routes":[""" + routes + "]}]},"
        + "\"http_filters\":[" + (filters.Length == 0 ? string.Empty : filters + ",")
        + """{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}""";

    public static HttpConnectionManagerConfig Translate(string hcmJson, StatsStore? stats = null) =>
        HttpConnectionManagerTranslator.Translate(Parser.Parse<Hcm>(hcmJson), "hcm", stats ?? new StatsStore());

    public static string RateLimit(string body) =>
        """{"name":"envoy.filters.http.local_ratelimit","typed_config":{"@type":" """.TrimEnd() + RateLimitType + "\"," + body + "}}";

    public static string Fault(string body) =>
        """{"name":"envoy.filters.http.fault","typed_config":{"@type":" """.TrimEnd() + FaultType + "\"" + (body.Length == 0 ? string.Empty : "," + body) + "}}";

    /// <summary>A local rate limit body, enabled and enforced for every request.</summary>
    public static string Bucket(int maxTokens, int perFill, string interval, string prefix = "rl") =>
        "\"stat_prefix\":\"" + prefix + "\",\"token_bucket\":{\"max_tokens\":" + maxTokens + ",\"tokens_per_fill\":" + perFill + ",\"fill_interval\":\"" + interval + "\"},"
        + "\"filter_enabled\":{\"default_value\":{\"numerator\":100}},\"filter_enforced\":{\"default_value\":{\"numerator\":100}}";
}
