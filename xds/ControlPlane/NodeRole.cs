using Envoy.Config.Core.V3;

namespace Herald.Xds.ControlPlane;

public enum NodeKind
{
    /// <summary>A Herald or Envoy sidecar next to a workload.</summary>
    Sidecar,
    Gateway,

    /// <summary>A gRPC library speaking xDS itself (no proxy): API listeners named like services.</summary>
    Proxyless,
}

/// <summary>How iptables sends a sidecar's traffic to it; anything but <see cref="None"/> asks for virtual listeners.</summary>
public enum InterceptionMode
{
    /// <summary>No interception: listeners bound per port, inbound delivered to 127.0.0.1.</summary>
    None,

    /// <summary>NAT REDIRECT inbound and outbound (the original destination comes from SO_ORIGINAL_DST).</summary>
    Redirect,

    /// <summary>TPROXY inbound (the inbound listener is transparent), REDIRECT outbound.</summary>
    Tproxy,
}

/// <summary>
/// What a node is, from its bootstrap: metadata <c>HERALD_GATEWAY</c> names a gateway;
/// <c>HERALD_WORKLOAD</c> (else <c>node.cluster</c>) names the workload whose sidecar entry
/// applies; <c>HERALD_SERVICE</c> names the service it runs; <c>HERALD_INTERCEPTION</c>
/// (<c>REDIRECT</c> or <c>TPROXY</c>, sidecars only) asks for interception listeners; a
/// <c>user_agent_name</c> containing "grpc" marks a proxyless gRPC client.
/// </summary>
public sealed record NodeRole(NodeKind Kind, string? Gateway, string? Workload, string? Service, InterceptionMode Interception = InterceptionMode.None)
{
    public const string GatewayKey = "HERALD_GATEWAY";
    public const string WorkloadKey = "HERALD_WORKLOAD";
    public const string ServiceKey = "HERALD_SERVICE";
    public const string InterceptionKey = "HERALD_INTERCEPTION";

    public static NodeRole Of(Node? node)
    {
        if (node is null)
        {
            return new NodeRole(NodeKind.Sidecar, null, null, null);
        }

        var gateway = Metadata(node, GatewayKey);
        var workload = Metadata(node, WorkloadKey) ?? (node.Cluster.Length > 0 ? node.Cluster : null);
        var service = Metadata(node, ServiceKey);
        if (gateway is not null)
        {
            return new NodeRole(NodeKind.Gateway, gateway, workload, service);
        }

        if (node.UserAgentName.Contains("grpc", StringComparison.OrdinalIgnoreCase))
        {
            return new NodeRole(NodeKind.Proxyless, null, workload, service);
        }

        return new NodeRole(NodeKind.Sidecar, null, workload, service, ParseInterception(Metadata(node, InterceptionKey)));
    }

    /// <summary><c>REDIRECT</c> or <c>TPROXY</c> in any case; anything else means no interception.</summary>
    public static InterceptionMode ParseInterception(string? value) => value switch
    {
        _ when string.Equals(value, "REDIRECT", StringComparison.OrdinalIgnoreCase) => InterceptionMode.Redirect,
        _ when string.Equals(value, "TPROXY", StringComparison.OrdinalIgnoreCase) => InterceptionMode.Tproxy,
        _ => InterceptionMode.None,
    };

    private static string? Metadata(Node node, string key) =>
        node.Metadata is { } metadata && metadata.Fields.TryGetValue(key, out var value) && value.StringValue is { Length: > 0 } s ? s : null;
}
