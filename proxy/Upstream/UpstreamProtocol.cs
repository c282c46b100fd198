namespace Herald.Proxy.Upstream;

/// <summary>The HTTP version Herald speaks to a cluster's endpoints.</summary>
internal enum UpstreamProtocol
{
    Http1,
    Http2,

    /// <summary>Envoy's <c>use_downstream_protocol_config</c>: HTTP/2 for HTTP/2 clients, else HTTP/1.1.</summary>
    UseDownstream,
}
