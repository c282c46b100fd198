using System.Text.Json.Nodes;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>The http_connection_manager of one test listener: codec, stat prefix and routes.</summary>
public sealed class HttpListenerOptions
{
    /// <summary>codec_type; null leaves it out (Envoy's default, AUTO).</summary>
    public string? Codec { get; set; }

    public string StatPrefix { get; set; } = "ingress_http";

    /// <summary>Adds <c>upgrade_configs: [{upgrade_type: websocket}]</c>, which Envoy needs to pass WebSocket upgrades.</summary>
    public bool WebSockets { get; set; }

    /// <summary>Sets <c>use_remote_address</c>: the proxy is the edge and appends to x-forwarded-for.</summary>
    public bool UseRemoteAddress { get; set; }

    internal JsonArray Routes { get; } = [];

    /// <summary>Other http_connection_manager fields as raw Envoy JSON (stream_idle_timeout, common_http_protocol_options, ...).</summary>
    public JsonObject ExtraFields { get; } = [];

    /// <summary>HTTP filters (Envoy JSON: name and typed_config) placed before the router.</summary>
    public JsonArray HttpFilters { get; } = [];

    /// <summary>Extra fields of the one virtual host (for example include_request_attempt_count).</summary>
    public JsonObject VirtualHostFields { get; } = [];

    /// <summary>A prefix route to one cluster, with an optional route timeout ("1s") and hash policies.</summary>
    public HttpListenerOptions Route(string prefix, string cluster, string? timeout = null, params JsonObject[] hashPolicy)
    {
        var action = new JsonObject { ["cluster"] = cluster };
        if (timeout is not null)
        {
            action["timeout"] = timeout;
        }

        if (hashPolicy.Length > 0)
        {
            action["hash_policy"] = new JsonArray([.. hashPolicy]);
        }

        return RawRoute(new JsonObject
        {
            ["match"] = new JsonObject { ["prefix"] = prefix },
            ["route"] = action,
        });
    }

    /// <summary>A prefix route to weighted clusters.</summary>
    public HttpListenerOptions WeightedRoute(string prefix, params (string Cluster, int Weight)[] clusters)
    {
        var list = new JsonArray();
        foreach (var (cluster, weight) in clusters)
        {
            list.Add(new JsonObject { ["name"] = cluster, ["weight"] = weight });
        }

        return RawRoute(new JsonObject
        {
            ["match"] = new JsonObject { ["prefix"] = prefix },
            ["route"] = new JsonObject { ["weighted_clusters"] = new JsonObject { ["clusters"] = list } },
        });
    }

    /// <summary>Any route, as Envoy's JSON (match and action).</summary>
    public HttpListenerOptions RawRoute(JsonObject route)
    {
        Routes.Add(route);
        return this;
    }

    /// <summary>hash_policy entry hashing a request header.</summary>
    public static JsonObject HashHeader(string header) =>
        new() { ["header"] = new JsonObject { ["header_name"] = header } };

    /// <summary>hash_policy entry hashing a cookie (no ttl: Envoy never generates it).</summary>
    public static JsonObject HashCookie(string name) =>
        new() { ["cookie"] = new JsonObject { ["name"] = name } };
}
