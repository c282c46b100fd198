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

/// <summary>
/// What a node is, from its bootstrap: metadata <c>HERALD_GATEWAY</c> names a gateway;
/// <c>HERALD_WORKLOAD</c> (else <c>node.cluster</c>) names the workload whose sidecar entry
/// applies; <c>HERALD_SERVICE</c> names the service it runs; a <c>user_agent_name</c>
/// containing "grpc" marks a proxyless gRPC client.
/// </summary>
public sealed record NodeRole(NodeKind Kind, string? Gateway, string? Workload, string? Service)
{
    public const string GatewayKey = "HERALD_GATEWAY";
    public const string WorkloadKey = "HERALD_WORKLOAD";
    public const string ServiceKey = "HERALD_SERVICE";

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

        var proxyless = node.UserAgentName.Contains("grpc", StringComparison.OrdinalIgnoreCase);
        return new NodeRole(proxyless ? NodeKind.Proxyless : NodeKind.Sidecar, null, workload, service);
    }

    private static string? Metadata(Node node, string key) =>
        node.Metadata is { } metadata && metadata.Fields.TryGetValue(key, out var value) && value.StringValue is { Length: > 0 } s ? s : null;
}
