using System.Text.Json.Nodes;

namespace Herald.Tests.TestSupport.Tls;

/// <summary>Envoy JSON for TLS transport sockets, for the end-to-end bootstraps.</summary>
public static class TlsConfigJson
{
    public const string DownstreamType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
    public const string UpstreamType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
    public const string TlsInspectorType = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

    /// <summary>A DownstreamTlsContext serving the PEM files, with ALPN protocols.</summary>
    public static JsonObject Downstream(string certificatePath, string keyPath, params string[] alpn)
    {
        var common = new JsonObject
        {
            ["tls_certificates"] = new JsonArray(new JsonObject
            {
                ["certificate_chain"] = new JsonObject { ["filename"] = certificatePath },
                ["private_key"] = new JsonObject { ["filename"] = keyPath },
            }),
        };
        if (alpn.Length > 0)
        {
            common["alpn_protocols"] = new JsonArray([.. alpn.Select(a => JsonValue.Create(a))]);
        }

        return Socket(new JsonObject { ["@type"] = DownstreamType, ["common_tls_context"] = common });
    }

    /// <summary>An UpstreamTlsContext with SNI, verifying against the CA file and (when given) an exact DNS SAN.</summary>
    public static JsonObject Upstream(string sni, string caPath, string? dnsSan)
    {
        var validation = new JsonObject { ["trusted_ca"] = new JsonObject { ["filename"] = caPath } };
        if (dnsSan is not null)
        {
            validation["match_typed_subject_alt_names"] = new JsonArray(new JsonObject
            {
                ["san_type"] = "DNS",
                ["matcher"] = new JsonObject { ["exact"] = dnsSan },
            });
        }

        return Socket(new JsonObject
        {
            ["@type"] = UpstreamType,
            ["sni"] = sni,
            ["common_tls_context"] = new JsonObject { ["validation_context"] = validation },
        });
    }

    /// <summary>Envoy's tls_inspector listener filter (chains matched by SNI).</summary>
    public static JsonArray TlsInspector() => new(new JsonObject
    {
        ["name"] = "envoy.filters.listener.tls_inspector",
        ["typed_config"] = new JsonObject { ["@type"] = TlsInspectorType },
    });

    private static JsonObject Socket(JsonObject typedConfig) => new()
    {
        ["name"] = "envoy.transport_sockets.tls",
        ["typed_config"] = typedConfig,
    };
}
