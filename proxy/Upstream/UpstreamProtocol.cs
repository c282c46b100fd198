namespace Herald.Proxy.Upstream;

/// <summary>The HTTP version Herald speaks to a cluster's endpoints.</summary>
internal enum UpstreamProtocol
{
    Http1,
    Http2,
}
